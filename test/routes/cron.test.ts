import t, { type Test } from 'tap'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { createLock } from '../../src/store/lock.js'
import { RedditFake } from '../fakes/reddit.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { buildApp, createTestTable, LogCapture, testConfig, type Env, type TestTable } from '../helper.js'
import { manualClock, seedTokens, waitFor } from '../helpers/refresh.js'

const SECRET = 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc'
const headers = { 'x-cron-secret': SECRET }
const MINUTE = 60_000

async function setup (t: Test, env: Env = {}, logs?: LogCapture) {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const clock = manualClock()
  const config = testConfig({ TOKENS_TABLE: table.name, CRON_SECRET: SECRET, PROVIDER_TIMEOUT_MS: '2000', ...reddit.env(), ...env, ...(logs === undefined ? {} : { LOG_LEVEL: 'debug' }) })
  const app = await buildApp(t, { config, clock: clock.now, ...(logs === undefined ? {} : { logs }) })
  return { table, reddit, clock, app, config, ...storeOf(table, config, clock.now) }
}

/** The app's decorations live in its own scope: tests reach the same table through their own store and lock. */
function storeOf (table: TestTable, config: ReturnType<typeof testConfig>, now: () => number) {
  return {
    store: createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now }),
    lock: createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 1, now })
  }
}

t.test('a run refreshes what is due, answers the contract body, and /last reports it', async (t) => {
  const logs = new LogCapture()
  const { reddit, clock, app, store, lock } = await setup(t, {}, logs)
  const due = await seedTokens(store, reddit, 5, { expiresInMs: 5 * MINUTE, now: clock.now })
  await seedTokens(store, reddit, 2, { expiresInMs: 20 * 60 * MINUTE, now: clock.now, prefix: 'fresh' })

  const res = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth?wait=true', headers })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { ok: true, done: true, skipped: false, refreshed: 5, failed: 0, needsReauth: 0, deferred: 0, runId: String })
  t.type(body.durationMs, 'number')
  t.same(body.results.map((r: { platform: string }) => r.platform).sort(), ['instagram', 'reddit', 'threads', 'tiktok'])
  t.same(body.results.find((r: { platform: string }) => r.platform === 'reddit'), { platform: 'reddit', configured: true, due: 5, refreshed: 5, failed: 0, needsReauth: 0, deferred: 0 })
  t.same(body.results.find((r: { platform: string }) => r.platform === 'tiktok'), { platform: 'tiktok', configured: false, due: 0, refreshed: 0, failed: 0, needsReauth: 0, deferred: 0 })
  t.notOk('partial' in body)
  t.equal(reddit.requestsTo('refresh').length, 5, 'only the due tokens reached the provider')

  for (const token of due) {
    const record = await store.get({ userId: token.userId, platform: 'reddit' })
    t.ok((record?.expiresAtMs ?? 0) > clock.now() + 60 * MINUTE, `${token.userId} has a new expiry`)
    t.equal(record?.claimId, undefined, 'no claim left')
    t.equal(store.openSecrets(record!).refreshToken, token.refreshToken, 'no rotation: the stored refresh token is kept')
  }

  const last = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth/last', headers })
  t.equal(last.statusCode, 200)
  t.match(last.json(), { ok: true, lock: { held: false, runId: null, expiresAt: null }, lastRun: { runId: body.runId, refreshed: 5, partial: false, errorCodes: {} } })
  t.ok(Date.parse(last.json().lastRun.finishedAt) > 0)

  t.equal((await lock.status()).held, false, 'the lock is released')

  const summary = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'refresh run finished')
  t.match(summary, { runId: body.runId, refreshed: 5, failed: 0, service: 'oauth-refresher', _aws: { CloudWatchMetrics: [{ Namespace: 'OAuthRefresher', Dimensions: [['service']] }] } })
  t.same(summary._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name), ['refreshed', 'failed', 'needsReauth', 'skipped', 'deferred', 'durationMs'])
  const emf = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'refresh run platform metrics')
  t.same(emf.map((l) => l.platform), ['reddit'], 'one EMF line per configured platform')
  t.match(emf[0], { refreshed: 5, _aws: { CloudWatchMetrics: [{ Dimensions: [['service', 'platform']] }] } })
  for (const secret of [...reddit.ledger.allSecrets(), reddit.clientSecret, SECRET]) t.notMatch(logs.text, secret, 'no secret in the logs')
})

t.test('the call answers at the response budget; the run goes on under the lock', async (t) => {
  const { reddit, clock, app, store } = await setup(t, { CRON_RESPONSE_BUDGET_MS: '300' })
  await seedTokens(store, reddit, 4, { expiresInMs: 5 * MINUTE, now: clock.now })
  reddit.latencyMs = 1_200

  const started = Date.now()
  const first = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth', headers })
  t.ok(Date.now() - started < 1_100, 'answered before the provider did')
  t.equal(first.statusCode, 200)
  t.match(first.json(), { ok: true, done: false, skipped: false, refreshed: 0 })

  const second = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth', headers })
  t.equal(second.statusCode, 200)
  const skipped = second.json()
  t.same(Object.keys(skipped).sort(), ['lockExpiresAt', 'lockedBy', 'ok', 'reason', 'runId', 'skipped'])
  t.match(skipped, { ok: true, skipped: true, reason: 'locked', runId: String, lockedBy: first.json().runId })
  t.not(skipped.runId, first.json().runId, 'runId is this call\'s own id, lockedBy the holder')
  t.ok(Date.parse(skipped.lockExpiresAt) > clock.now(), 'lockExpiresAt is an ISO time in the future')

  const held = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth/last', headers })
  t.match(held.json(), { lock: { held: true, runId: first.json().runId }, lastRun: null })

  await waitFor(async () => (await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth/last', headers })).json().lastRun !== null)
  const last = (await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth/last', headers })).json()
  t.match(last, { lock: { held: false }, lastRun: { runId: first.json().runId, refreshed: 4 } })
})

t.test('50 parallel calls from two instances against 40 due tokens: each refresh token presented once, no 5xx', async (t) => {
  const { reddit, clock, app, table, config, store, lock } = await setup(t)
  reddit.rotate = true
  reddit.latencyMs = 300
  const other = await buildApp(t, { config, clock: clock.now })
  t.ok(table.name)
  const seeded = await seedTokens(store, reddit, 40, { expiresInMs: 5 * MINUTE, now: clock.now })

  const calls = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? app : other).inject({
    method: 'GET', url: i % 5 === 0 ? '/api/cron/refresh-oauth?wait=true' : '/api/cron/refresh-oauth', headers
  }))
  const answers = await Promise.all(calls)
  t.same(answers.filter((a) => a.statusCode >= 500).map((a) => a.body), [], 'no 5xx')
  t.ok(answers.every((a) => a.statusCode === 200))
  const runs = answers.map((a) => a.json()).filter((b) => b.skipped === false)
  t.equal(new Set(runs.map((b) => b.runId)).size, 1, 'one run took the lock')

  await waitFor(async () => (await lock.status()).lastRun !== null, 20_000)
  t.same(reddit.ledger.presentedMoreThanOnce(), [], 'no refresh token presented twice')
  for (const token of seeded) {
    t.equal(reddit.timesPresented(token.refreshToken ?? ''), 1)
    const record = await store.get({ userId: token.userId, platform: 'reddit' })
    const stored = store.openSecrets(record!).refreshToken ?? ''
    t.ok(reddit.isValid(stored), `${token.userId}: the stored (rotated) refresh token is the live one`)
  }
})

t.test('DynamoDB unreachable at the start: 503 store_unavailable and no lock left', async (t) => {
  const table = await createTestTable(t)
  const dead = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })
  t.teardown(() => dead.client.destroy())
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name, CRON_SECRET: SECRET }, dynamo: dead })
  for (const url of ['/api/cron/refresh-oauth', '/api/cron/refresh-oauth?wait=true', '/api/cron/refresh-oauth/last']) {
    const res = await app.inject({ method: 'GET', url, headers })
    t.equal(res.statusCode, 503, url)
    t.same(res.json(), { ok: false, error: 'store_unavailable' })
  }
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 1 })
  t.same(await lock.status(), { held: false, runId: null, acquiredAtMs: null, expiresAtMs: null, lastRun: null }, 'no lock item at all')
})

t.test('closing the app stops a background run cleanly: in-flight tokens written, lock released, partial', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const clock = manualClock()
  const { default: Fastify } = await import('fastify')
  const { default: appPlugin } = await import('../../src/app.js')
  const { serverOptions } = await import('../../src/server-options.js')
  const config = testConfig({ TOKENS_TABLE: table.name, CRON_SECRET: SECRET, CRON_RESPONSE_BUDGET_MS: '100', REDDIT_REFRESH_CONCURRENCY: '2', ...reddit.env() })
  const app = Fastify(serverOptions(config))
  await app.register(appPlugin, { config, clock: clock.now })
  await app.ready()
  const { store, lock } = storeOf(table, config, clock.now)
  await seedTokens(store, reddit, 10, { expiresInMs: 5 * MINUTE, now: clock.now })
  reddit.latencyMs = 400

  const res = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth', headers })
  t.match(res.json(), { done: false })
  await waitFor(() => reddit.requestsTo('refresh').length >= 2)
  await app.close()

  const state = await lock.status()
  t.equal(state.held, false, 'lock released on close')
  t.match(state.lastRun, { runId: res.json().runId, partial: true, error: 'shutdown' })
  const presented = reddit.requestsTo('refresh').length
  t.ok(presented < 10, `shutdown stopped new tokens (${presented} of 10 started)`)
  t.equal((state.lastRun as { refreshed: number }).refreshed, presented, 'every token sent to the provider was written')
})

t.test('a cron call already past routing when the server begins to close: 503 shutting_down, no run, no lock', async (t) => {
  const table = await createTestTable(t)
  const { default: Fastify } = await import('fastify')
  const { default: appPlugin } = await import('../../src/app.js')
  const { serverOptions } = await import('../../src/server-options.js')
  const config = testConfig({ TOKENS_TABLE: table.name, CRON_SECRET: SECRET })
  const app = Fastify(serverOptions(config))
  // Holds the call between routing (Fastify's own 503 while closing comes before it) and the handler.
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let arrived = (): void => {}
  const inside = new Promise<void>((resolve) => { arrived = resolve })
  app.addHook('preHandler', async () => { arrived(); await gate })
  await app.register(appPlugin, { config })
  await app.ready()

  const call = app.inject({ method: 'GET', url: '/api/cron/refresh-oauth?wait=true', headers })
  await inside
  const closed = app.close()
  await new Promise((resolve) => setImmediate(resolve))
  release()
  const res = await call
  await closed
  t.equal(res.statusCode, 503)
  t.same(res.json(), { ok: false, error: 'shutting_down' })
  const { lock } = storeOf(table, config, Date.now)
  t.same(await lock.status(), { held: false, runId: null, acquiredAtMs: null, expiresAtMs: null, lastRun: null }, 'no lock was taken')
})
