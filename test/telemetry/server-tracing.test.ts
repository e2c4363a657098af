// The real server process (`node --import tsx src/server.ts`) with OTEL_EXPORTER_OTLP_ENDPOINT set,
// exporting to a real OTLP/HTTP receiver: request spans (@fastify/otel), DynamoDB spans (AWS SDK),
// provider call spans, the cron run with a child per refresh, the handout, the webhook delivery; the
// log lines carry trace_id and span_id; no canary reaches the receiver. Also: the receiver down (the
// service answers as fast and loses nothing) and tracing off (the receiver gets nothing).
import { createServer as createTcpServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore, type TokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { createTestTable, testEnv, type Env } from '../helper.js'
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { seedTokens, waitFor } from '../helpers/refresh.js'
import { freePort, startServer, waitReady, within, type Running } from '../helpers/server-process.js'
import { webhookSecret, WebhookReceiver } from '../helpers/webhook-receiver.js'

const CANARY = `CANARY${randomUUID().slice(0, 8)}`
const KEY = `${CANARY}-internal-key-0123456789abcdef`
const CRON = `${CANARY}-cron-secret-0123456789abcdef`

interface Setup {
  readonly env: Env
  readonly store: TokenStore
  readonly reddit: RedditFake
  readonly hooks: WebhookReceiver
}

async function setup (t: Test, overrides: Env): Promise<Setup> {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const hooks = await new WebhookReceiver().listen(t)
  const env = testEnv({
    TOKENS_TABLE: table.name,
    INTERNAL_API_KEY: KEY,
    CRON_SECRET: CRON,
    REAUTH_WEBHOOK_URL: hooks.url,
    REAUTH_WEBHOOK_SECRET: webhookSecret(),
    LOG_LEVEL: 'info',
    ...reddit.env(),
    ...overrides
  })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(loadConfig(env).encryptionKeys) })
  return { env, store, reddit, hooks }
}

async function get (server: Running, path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: Record<string, unknown>, ms: number }> {
  const t0 = performance.now()
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> } catch {}
  return { status: res.status, body, ms: performance.now() - t0 }
}

/** What every scenario does: a needs_reauth (→ a webhook), a cron run, a handout, requests with queries. */
async function exercise (t: Test, server: Running, s: Setup): Promise<{ secrets: string[], handoutMs: number, cronMs: number }> {
  const [dying, due] = await seedTokens(s.store, s.reddit, 2, { expiresInMs: 2 * 60_000, now: Date.now, prefix: `user-${CANARY.slice(6)}` })
  // 1. A handout whose refresh the provider refuses: needs_reauth, and a webhook event.
  s.reddit.failNext('refresh', { kind: 'invalid_grant' })
  const refused = await get(server, `/api/internal/tokens/${dying!.userId}/reddit`, { authorization: `Bearer ${KEY}` })
  t.equal(refused.status, 409, 'needs_reauth')
  // 2. A cron run refreshes the other token.
  const cron = await get(server, '/api/cron/refresh-oauth?wait=true', { 'x-cron-secret': CRON })
  t.equal(cron.status, 200)
  t.match(cron.body, { refreshed: 1 }, 'the run refreshed the due token')
  // 3. A handout of the refreshed token.
  const handout = await get(server, `/api/internal/tokens/${due!.userId}/reddit`, { authorization: `Bearer ${KEY}` })
  t.equal(handout.status, 200)
  const accessToken = String(handout.body.accessToken)
  t.not(accessToken, due!.accessToken, 'the handout gave the refreshed token')
  // 4. Queries that must not reach a span: a callback's code, a query on a probe.
  await get(server, `/api/auth/reddit/callback?code=${CANARY}-code&state=${CANARY}-state`)
  await get(server, `/readyz?probe=${CANARY}-query`)
  await waitFor(() => s.hooks.deliveries.length === 1, 20_000)
  const record = await s.store.get({ userId: due!.userId, platform: 'reddit' }, true)
  const secrets = [KEY, CRON, dying!.accessToken, dying!.refreshToken ?? '', due!.accessToken, due!.refreshToken ?? '', accessToken,
    record === undefined ? '' : s.store.openSecrets(record).refreshToken ?? '', `${CANARY}-code`, `${CANARY}-state`, `${CANARY}-query`, s.env.TOKEN_ENCRYPTION_KEY?.slice(3) ?? '']
  return { secrets: secrets.filter((v) => v !== ''), handoutMs: handout.ms, cronMs: cron.ms }
}

const one = (spans: ReceivedSpan[], what: string): ReceivedSpan => {
  if (spans.length === 0) throw new Error(`no ${what} span`)
  return spans[0] as ReceivedSpan
}

t.test('tracing on (http/protobuf): every kind of span arrives, linked, with no secret; logs carry the ids', async (t) => {
  const receiver = await new OtlpReceiver().listen(t)
  const s = await setup(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: undefined })
  const server = await startServer(t, s.env)
  await waitReady(server, 60_000)
  const { secrets } = await exercise(t, server, s)
  await receiver.waitFor((spans) => spans.some((x) => x.name === 'webhook.delivery') && spans.some((x) => x.name === 'refresh.run') &&
    spans.filter((x) => x.name === 'token.handout').length === 2 && spans.some((x) => x.name === 'GET /api/auth/:platform/callback'), 15_000, 'run, handout and delivery spans')

  t.ok(receiver.exports.every((e) => e.contentType === 'application/x-protobuf'), 'http/protobuf by default')
  const keys = new Map<string, Set<string>>()
  for (const x of receiver.spans) for (const k of Object.keys(x.attributes)) keys.set(`${x.scope} ${x.name.replace(/^DynamoDB\..*/, 'DynamoDB.*')}`, (keys.get(`${x.scope} ${x.name.replace(/^DynamoDB\..*/, 'DynamoDB.*')}`) ?? new Set()).add(k))
  t.comment(`attributes seen: ${JSON.stringify(Object.fromEntries([...keys].map(([n, k]) => [n, [...k].sort()])))}`)
  t.same(receiver.errors, [], 'every export decoded')
  const run = one(receiver.named('refresh.run'), 'refresh.run')
  t.equal(run.resource['service.name'], 'oauth-refresher', 'the service name defaults to oauth-refresher')
  // The cron request's span (Fastify) is the run's parent; the refresh a child of the run.
  const cronRequest = one(receiver.spans.filter((x) => x.spanId === run.parentSpanId), 'cron request')
  t.equal(cronRequest.name, 'GET /api/cron/refresh-oauth')
  t.equal(cronRequest.scope, '@fastify/otel')
  t.equal(cronRequest.attributes['url.path'], '/api/cron/refresh-oauth', 'the path without its query')
  t.equal(cronRequest.attributes['http.response.status_code'], 200)
  const refresh = one(receiver.childrenOf(run).filter((x) => x.name === 'refresh.token'), 'refresh under the run')
  t.match(refresh.attributes, { 'refresh.platform': 'reddit', 'refresh.outcome': 'refreshed' })
  t.match(run.attributes, { 'refresh.refreshed': 1, 'refresh.failed': 0 })
  // The provider call and the DynamoDB calls of that refresh are its children.
  const call = one(receiver.childrenOf(refresh).filter((x) => x.name === 'provider POST'), 'provider call')
  t.equal(call.kind, 3, 'a client span')
  t.match(call.attributes, { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 200 })
  t.match(call.attributes['url.path'], /^\/[^?]*$/, 'a path, no query')
  const writes = receiver.childrenOf(refresh).filter((x) => x.scope.includes('aws-sdk'))
  t.ok(writes.some((x) => /UpdateItem|TransactWriteItems/.test(x.name)), `DynamoDB spans under the refresh: ${writes.map((x) => x.name).join(', ')}`)
  t.ok(writes.every((x) => x.attributes['db.system.name'] === 'aws.dynamodb' || x.attributes['rpc.system'] === 'aws-api'), 'AWS SDK spans')

  // The handouts: under their request, with the refusal's refresh below the first.
  const handouts = receiver.named('token.handout')
  t.equal(handouts.length, 2)
  const refusedHandout = one(handouts.filter((x) => x.attributes['handout.outcome'] === 'needs_reauth'), 'refused handout')
  t.match(one(receiver.childrenOf(refusedHandout).filter((x) => x.name === 'refresh.token'), 'its refresh').attributes, { 'refresh.outcome': 'needsReauth', 'refresh.error_code': 'invalid_grant' })
  const okHandout = one(handouts.filter((x) => x.attributes['handout.outcome'] === 'token'), 'handout')
  t.match(okHandout.attributes, { 'handout.platform': 'reddit', 'handout.reason': 'fresh' })
  t.equal(one(receiver.spans.filter((x) => x.spanId === okHandout.parentSpanId), 'handout request').name, 'GET /api/internal/tokens/:userId/:platform')

  const delivery = one(receiver.named('webhook.delivery'), 'webhook.delivery')
  t.match(delivery.attributes, { 'webhook.event_type': 'connection.needs_reauth', 'webhook.outcome': 'delivered', 'webhook.attempt': 1 })
  t.ok(receiver.childrenOf(delivery).some((x) => x.scope.includes('aws-sdk')), 'the delivery settles in DynamoDB under its span')

  // Requests with queries: the path only, everywhere (the callback's code and state included).
  await receiver.waitFor((spans) => spans.some((x) => x.name === 'GET /api/auth/:platform/callback'), 5_000, 'the callback request span')
  t.equal(one(receiver.named('GET /api/auth/:platform/callback'), 'callback').attributes['url.path'], '/api/auth/reddit/callback')
  for (const span of receiver.spans) {
    for (const [key, value] of Object.entries(span.attributes)) {
      if (typeof value === 'string' && key.startsWith('url.')) t.notMatch(value, /\?/, `${span.name} ${key} has no query`)
    }
  }
  t.notOk(receiver.named(/healthz/).length > 0, 'the liveness probe makes no span')
  for (const secret of secrets) t.notOk(receiver.rawText.includes(secret), `no ${secret.slice(0, 12)}… in any export`)
  t.notOk(receiver.rawText.includes(CANARY), 'no canary at all in any export')

  // Logs: the lines written inside a span carry its ids.
  const lines = server.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
  const traced = lines.filter((l) => typeof l.trace_id === 'string')
  t.ok(traced.length > 0, 'log lines with trace_id')
  const cronLine = lines.find((l) => l.msg === 'cron call started a refresh run')
  t.equal(cronLine?.trace_id, cronRequest.traceId, 'the cron line carries its request trace')
  t.equal(cronLine?.span_id, cronRequest.spanId, '…and the request span')
  const deliveredLine = lines.find((l) => l.msg === 'webhook delivered')
  t.equal(deliveredLine?.trace_id, delivery.traceId, 'the delivery line carries the delivery trace')
  t.equal(deliveredLine?.span_id, delivery.spanId)

  // Shutdown flushes what is still queued.
  const before = receiver.spans.length
  await get(server, '/readyz')
  server.child.kill('SIGTERM')
  t.same(await within(server.exited, 15_000, 'SIGTERM'), { code: 0, signal: null })
  t.ok(receiver.spans.length > before && receiver.named('GET /readyz').length >= 2, 'the last request was flushed at shutdown')
})

t.test('http/json: the same spans arrive as JSON', async (t) => {
  const receiver = await new OtlpReceiver().listen(t)
  const s = await setup(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'refresher-json' })
  const server = await startServer(t, s.env)
  await waitReady(server, 60_000)
  const { secrets } = await exercise(t, server, s)
  await receiver.waitFor((spans) => spans.some((x) => x.name === 'webhook.delivery') && spans.some((x) => x.name === 'refresh.run') &&
    spans.filter((x) => x.name === 'token.handout').length === 2, 15_000, 'run, handout and delivery spans')
  t.ok(receiver.exports.length > 0 && receiver.exports.every((e) => e.contentType.startsWith('application/json')), 'http/json')
  t.same(receiver.errors, [])
  const run = one(receiver.named('refresh.run'), 'refresh.run')
  t.equal(run.resource['service.name'], 'refresher-json', 'OTEL_SERVICE_NAME is honoured')
  t.ok(receiver.childrenOf(run).some((x) => x.name === 'refresh.token' && x.attributes['refresh.outcome'] === 'refreshed'))
  t.equal(receiver.named('token.handout').length, 2)
  t.ok(receiver.spans.some((x) => x.scope.includes('aws-sdk')), 'DynamoDB spans')
  for (const secret of secrets) t.notOk(receiver.rawText.includes(secret), `no ${secret.slice(0, 12)}… in any export`)
})

/** A TCP server that accepts and never answers: a collector that hangs. */
async function blackHole (t: Test): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createTcpServer((socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return (server.address() as AddressInfo).port
}

for (const fault of ['refused', 'hanging'] as const) {
  t.test(`the receiver ${fault === 'refused' ? 'down (connection refused)' : 'hanging (accepts, never answers)'}: requests answer as fast, nothing is lost`, async (t) => {
    const port = fault === 'refused' ? await freePort() : await blackHole(t)
    const s = await setup(t, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '100' })
    const server = await startServer(t, s.env)
    await waitReady(server, 60_000)
    const { handoutMs, cronMs } = await exercise(t, server, s)
    t.equal(s.hooks.deliveries.length, 1, 'the webhook was delivered')
    t.ok(handoutMs < 1_000, `the handout answered in ${Math.round(handoutMs)} ms`)
    t.ok(cronMs < 5_000, `the cron run answered in ${Math.round(cronMs)} ms`)
    // A burst of requests while exports fail: each answers promptly.
    const times: number[] = []
    for (let i = 0; i < 40; i++) times.push((await get(server, '/readyz')).ms)
    times.sort((a, b) => a - b)
    t.ok((times[Math.floor(times.length * 0.95)] ?? 0) < 500, `p95 of /readyz ${Math.round(times[Math.floor(times.length * 0.95)] ?? 0)} ms`)
    server.child.kill('SIGTERM')
    const exit = await within(server.exited, 20_000, 'SIGTERM')
    t.same(exit, { code: 0, signal: null }, 'a clean exit despite the unflushable spans')
  })
}

for (const off of ['unset', 'disabled'] as const) {
  t.test(`tracing off (${off === 'unset' ? 'no endpoint' : 'OTEL_SDK_DISABLED=true'}): nothing is sent, and the log lines carry no trace ids`, async (t) => {
    const receiver = await new OtlpReceiver().listen(t)
    // Unset: the receiver listens and every other OTEL_* variable is there; only the endpoint is missing
    // (register.test.ts shows that no SDK module is even loaded then). Disabled: the endpoint is the receiver.
    const s = await setup(t, off === 'unset'
      ? { OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' }
      : { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SDK_DISABLED: 'true', OTEL_BSP_SCHEDULE_DELAY: '100' })
    const server = await startServer(t, s.env)
    await waitReady(server, 60_000)
    await exercise(t, server, s)
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.equal(receiver.exports.length, 0, 'no export')
    t.notMatch(server.output().stdout, /trace_id/, 'no trace ids in the logs')
  })
}
