// Connection events delivered to a real receiver on 127.0.0.1 by the service's worker: signed as
// Standard Webhooks (verified with the `standardwebhooks` package, as docs/webhooks.md tells receivers
// to), retried when the receiver is down, answers 500 or redirects, still delivered when it is slow
// (and nothing waits for it), given up as failed once the schedule is spent.
import t, { type Test } from 'tap'
import { Webhook } from 'standardwebhooks'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { createWebhookOutbox } from '../../src/store/webhook-outbox.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, LogCapture, testConfig, type Env } from '../helper.js'
import { seedTokens, waitFor } from '../helpers/refresh.js'
import { freePort } from '../helpers/server-process.js'
import { webhookSecret, WebhookReceiver } from '../helpers/webhook-receiver.js'

const KEY = 'internal-key-0123456789abcdef'
const MINUTE = 60_000

async function setup (t: Test, options: { schedule?: number[], env?: Env, secrets?: string[], listen?: boolean, logs?: LogCapture, gaugeEveryMs?: number, pollMs?: number } = {}) {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const receiver = new WebhookReceiver()
  if (options.listen !== false) await receiver.listen(t)
  else receiver.port = await freePort()
  const secrets = options.secrets ?? [webhookSecret()]
  const config = testConfig({
    TOKENS_TABLE: table.name,
    INTERNAL_API_KEY: KEY,
    REAUTH_WEBHOOK_URL: receiver.url,
    REAUTH_WEBHOOK_SECRET: secrets.join(','),
    ...reddit.env(),
    ...options.env,
    ...(options.logs === undefined ? {} : { LOG_LEVEL: 'debug' })
  })
  const app = await buildApp(t, { config, webhooks: { pollMs: options.pollMs ?? 50, schedule: options.schedule ?? [300, 300, 300], gaugeEveryMs: options.gaugeEveryMs }, ...(options.logs === undefined ? {} : { logs: options.logs }) })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys) })
  const outbox = createWebhookOutbox({ doc: table.dynamo.doc, table: table.name })
  let n = 0
  /** A connection the provider then refuses: the internal read answers 409 and the event is written. */
  const needsReauth = async () => {
    const [token] = await seedTokens(store, reddit, 1, { expiresInMs: 2 * MINUTE, now: Date.now, prefix: `user${n++}` })
    reddit.failNext('refresh', { kind: 'invalid_grant' })
    const res = await app.inject({ method: 'GET', url: `/api/internal/tokens/${token!.userId}/reddit`, headers: { authorization: `Bearer ${KEY}` } })
    t.equal(res.statusCode, 409, 'the state change')
    return token!
  }
  return { table, reddit, receiver, secrets, app, store, outbox, needsReauth, config }
}

t.test('a needs_reauth event: delivered once, signed per secret, verified by standardwebhooks, no secret in it', async (t) => {
  const logs = new LogCapture()
  const secrets = [webhookSecret(), webhookSecret()]
  const { receiver, outbox, needsReauth, reddit } = await setup(t, { secrets, logs })
  const token = await needsReauth()
  await waitFor(() => receiver.deliveries.length === 1)
  const [delivery] = receiver.deliveries
  const headers = delivery!.headers as Record<string, string>
  t.match(headers['webhook-id'], /^msg_[0-9a-z]{29}$/)
  t.ok(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000) < 10, 'unix seconds of the attempt')
  t.equal(headers['content-type'], 'application/json')
  t.equal(headers['webhook-signature']!.split(' ').length, 2, 'one signature per secret')
  for (const secret of secrets) {
    // What docs/webhooks.md tells a receiver to do, with either secret of a rotation.
    const verified = new Webhook(secret).verify(delivery!.body, headers)
    t.same(verified, JSON.parse(delivery!.body), 'verified with one of the secrets')
  }
  t.throws(() => new Webhook(webhookSecret()).verify(delivery!.body, headers), 'another secret does not verify')
  t.throws(() => new Webhook(secrets[0]!).verify(delivery!.body.replace('needs_reauth', 'recovered'), headers), 'a changed body does not verify')
  const body = JSON.parse(delivery!.body)
  t.same(body, {
    type: 'connection.needs_reauth',
    timestamp: body.timestamp,
    data: { userId: token.userId, platform: 'reddit', account: { id: 'acct-0', username: 'name_0' }, reason: 'invalid_grant' }
  })
  t.ok(Date.parse(body.timestamp) > Date.now() - MINUTE, 'ISO 8601 time of the event')
  for (const canary of [token.accessToken, token.refreshToken!, reddit.clientSecret, ...secrets, ...reddit.ledger.allSecrets()]) {
    t.notOk(delivery!.body.includes(canary), 'no token, code or secret in the payload')
    t.notOk(JSON.stringify(delivery!.headers).includes(canary), 'nor in the headers')
    t.notOk(logs.text.includes(canary), 'nor in the logs')
  }
  await waitFor(async () => (await outbox.list('pending')).length === 0)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(receiver.deliveries.length, 1, 'delivered once, not again')
  t.ok(logs.lines.some((l) => l.includes('"msg":"webhook delivered"')))
})

t.test('the receiver down: nothing is lost; delivered when it comes back, with the same webhook-id', async (t) => {
  const { receiver, outbox, needsReauth } = await setup(t, { listen: false, schedule: [200, 200, 200, 200, 200, 200, 200, 200] })
  await needsReauth()
  await waitFor(async () => (await outbox.list('pending'))[0]?.lastError === 'network_error')
  const [pending] = await outbox.list('pending')
  t.ok(pending!.attempts >= 1, 'an attempt failed')
  await receiver.listen(t, receiver.port)
  await waitFor(() => receiver.deliveries.length === 1)
  t.equal(receiver.deliveries[0]!.headers['webhook-id'], pending!.id)
  await waitFor(async () => (await outbox.list('pending')).length === 0)
})

t.test('a 500: retried on the schedule, same id, new timestamp, until a 2xx', async (t) => {
  const { receiver, outbox, needsReauth } = await setup(t, { schedule: [1_100, 300] })
  receiver.next.push({ kind: 'status', status: 500 })
  await needsReauth()
  await waitFor(() => receiver.deliveries.length === 2, 10_000)
  const [first, second] = receiver.deliveries
  t.equal(first!.headers['webhook-id'], second!.headers['webhook-id'], 'the same webhook-id on the retry')
  t.not(first!.headers['webhook-timestamp'], second!.headers['webhook-timestamp'], 'the timestamp of each attempt')
  t.ok(second!.atMs - first!.atMs >= 1_000, 'after the first pause of the schedule')
  t.equal(first!.body, second!.body, 'the same body')
  await waitFor(async () => (await outbox.list('pending')).length === 0)
})

t.test('a redirect is a failure, never followed', async (t) => {
  const { receiver, outbox, needsReauth } = await setup(t)
  receiver.next.push({ kind: 'redirect', location: `http://127.0.0.1:${receiver.port}/elsewhere` })
  await needsReauth()
  await waitFor(() => receiver.deliveries.length === 2)
  t.equal(receiver.received.filter((r) => r.path === '/elsewhere').length, 0, 'the redirect target never got a request')
  await waitFor(async () => (await outbox.list('pending')).length === 0)
})

t.test('a slow receiver (8 s): delivered once within the 10 s timeout, and requests do not wait for it', async (t) => {
  const { receiver, outbox, needsReauth, app } = await setup(t)
  receiver.mode = { kind: 'slow', delayMs: 8_000 }
  await needsReauth()
  await waitFor(() => receiver.deliveries.length === 1)
  const started = Date.now()
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  await needsReauth()
  t.ok(Date.now() - started < 2_000, `requests answered while a delivery is in flight (${Date.now() - started} ms)`)
  await waitFor(async () => (await outbox.list('pending')).length === 0, 20_000)
  t.equal(new Set(receiver.deliveries.map((d) => d.headers['webhook-id'])).size, 2, 'both events delivered')
  t.equal(receiver.deliveries.length, 2, 'each once: the slow answer was not taken for a failure')
})

t.test('a receiver failing every attempt: given up as failed after the schedule, kept and listable', async (t) => {
  const { receiver, outbox, needsReauth } = await setup(t, { schedule: [100, 100] })
  receiver.mode = { kind: 'status', status: 500 }
  await needsReauth()
  await waitFor(async () => (await outbox.list('failed')).length === 1)
  t.equal(receiver.deliveries.length, 3, 'the first attempt and the two retries of the schedule')
  const [failed] = await outbox.list('failed')
  t.match(failed, { partition: 'failed', type: 'connection.needs_reauth', attempts: 3, lastError: 'http_500' })
  t.same(await outbox.list('pending'), [], 'no longer pending')
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(receiver.deliveries.length, 3, 'never sent again')
})

// The alarms (WebhookDeliveriesFailing, WebhookDeliveriesBackingUp) watch these EMF lines.
t.test('failed attempts and the backlog are EMF metrics under the service dimension', async (t) => {
  const logs = new LogCapture()
  const { receiver, outbox, needsReauth } = await setup(t, { schedule: [60_000], logs, gaugeEveryMs: 100 })
  receiver.mode = { kind: 'status', status: 503 }
  await needsReauth()
  await needsReauth()
  await waitFor(() => receiver.deliveries.length === 2)
  await waitFor(() => logs.lines.some((l) => l.includes('"webhookPending":2')))
  const emf = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => '_aws' in l)
  const failed = emf.filter((l) => l.webhookDeliveryFailed === 1)
  t.equal(failed.length, 2, 'one webhookDeliveryFailed per failed attempt')
  for (const line of [...failed, emf.find((l) => l.webhookPending === 2)!]) {
    t.match(line, { service: 'oauth-refresher', _aws: { CloudWatchMetrics: [{ Namespace: 'OAuthRefresher', Dimensions: [['service']] }] } })
  }
  t.equal((await outbox.list('pending')).length, 2, 'the gauge counts what is pending')
})

// Regression (bench webhook_drain_per_s): each poll claimed at most 10 events (the in-flight cap)
// and the next waited out the poll interval, so one instance drained 10 events a second at best.
t.test('a backlog drains without waiting out the poll interval between batches', async (t) => {
  // The first poll comes 12 s after start; the 25 events are written well before it (disconnects,
  // whose events the store writes in the same transaction, as DELETE /api/platforms/:platform does).
  const { receiver, reddit, table, config } = await setup(t, { pollMs: 12_000 })
  const events = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), connectionEvents: true })
  const seeded = await seedTokens(events, reddit, 25, { expiresInMs: 60 * MINUTE, now: Date.now, prefix: 'backlog' })
  await Promise.all(seeded.map(async (s) => await events.deleteConnection({ userId: s.userId, platform: 'reddit' })))
  const writtenAt = Date.now()
  await waitFor(() => receiver.deliveries.length > 0, 30_000)
  const firstAt = Date.now()
  t.ok(writtenAt < receiver.deliveries[0]!.atMs, 'all 25 were pending before the first poll')
  await waitFor(() => receiver.deliveries.length === 25, 30_000)
  // Three batches of at most 10: two more poll intervals (24 s) before; well under one now.
  t.ok(Date.now() - firstAt < 6_000, `25 events delivered ${Date.now() - firstAt} ms after the first`)
  t.equal(new Set(receiver.deliveries.map((d) => d.headers['webhook-id'])).size, 25, 'each once')
})

t.test('no REAUTH_WEBHOOK_URL: no event is written, nothing is sent', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const config = testConfig({ TOKENS_TABLE: table.name, INTERNAL_API_KEY: KEY, ...reddit.env() })
  const app = await buildApp(t, { config })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys) })
  const [token] = await seedTokens(store, reddit, 1, { expiresInMs: 2 * MINUTE, now: Date.now })
  reddit.failNext('refresh', { kind: 'invalid_grant' })
  const res = await app.inject({ method: 'GET', url: `/api/internal/tokens/${token!.userId}/reddit`, headers: { authorization: `Bearer ${KEY}` } })
  t.equal(res.statusCode, 409)
  t.same(await createWebhookOutbox({ doc: table.dynamo.doc, table: table.name }).list('pending'), [])
})

t.test('shutdown mid-delivery: the attempt is aborted and the event is due again at once for another instance', async (t) => {
  const { receiver, outbox, needsReauth, app } = await setup(t)
  receiver.mode = { kind: 'slow', delayMs: 5_000 }
  await needsReauth()
  await waitFor(() => receiver.deliveries.length === 1)
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 3_000, 'close does not wait for the receiver')
  const [pending] = await outbox.list('pending')
  t.match(pending, { lastError: 'shutdown', attempts: 1 })
  t.ok(pending!.nextAttemptAtMs <= Date.now(), 'due again now')
  t.equal(pending!.leaseId, undefined, 'no lease left')
})
