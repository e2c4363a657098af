// The tracing start-up in this process (http/json to a real OTLP receiver): withSpan's parent/child
// links and error status, the redaction of URL queries, dropped attributes and status messages,
// @fastify/otel on an app built after the start (the bare path, the route in the name), the pino
// mixin, a failing webhook delivery's span, and the flush at shutdown. The real server process, the
// AWS SDK spans and the faults are in server-tracing.test.ts.
import { createRequire } from 'node:module'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import t from 'tap'
import { startTracingSdk } from '../../src/telemetry/sdk.js'
import { tracingSettings } from '../../src/telemetry/settings.js'
import { SPAN_KINDS, shutdownTracing, traceLogFields, tracingActive, untraced, withSpan } from '../../src/telemetry/tracing.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, LogCapture, testConfig } from '../helper.js'
import { OtlpReceiver } from '../helpers/otlp-receiver.js'
import { seedTokens, waitFor } from '../helpers/refresh.js'
import { webhookSecret, WebhookReceiver } from '../helpers/webhook-receiver.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'

const KEY = 'internal-key-0123456789abcdef-0123'
const CANARY = 'CANARY-in-process-7f3a'

t.test('off until started: withSpan only runs the work, no ids for the logs', async (t) => {
  t.equal(tracingActive(), false)
  t.equal(await withSpan('x', { a: 1 }, async (span) => { span.setAttributes({ b: 2 }); return 'done' }), 'done')
  t.equal(await untraced(async () => 'plain'), 'plain')
  await t.rejects(withSpan('x', {}, async () => { throw new TypeError('boom') }), TypeError, 'a throw goes through unchanged')
  t.same(traceLogFields(), {})
  await shutdownTracing()
  t.equal(tracingActive(), false, 'shutting down what never started is nothing')
})

t.test('started: spans, redaction, Fastify requests, the log mixin, a webhook delivery, the flush', async (t) => {
  const receiver = await new OtlpReceiver().listen(t)
  const saved = { ...process.env }
  t.teardown(() => { process.env = saved })
  // The SDK reads the standard variables from the process's environment, as in production.
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_BSP_MAX_QUEUE_SIZE: '4096', OTEL_BSP_EXPORT_TIMEOUT: 'not a number' })
  const settings = tracingSettings(process.env)
  if (settings === undefined) throw new Error('settings expected')
  startTracingSdk(settings, createRequire(import.meta.url))
  t.teardown(() => shutdownTracing())
  t.equal(tracingActive(), true)

  // withSpan: nesting, attributes set on the way, a throw marked with the error's name only.
  await withSpan('outer', { 'a.count': 1, 'a.skipped': undefined }, async () => {
    t.match(traceLogFields(), { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ }, 'ids inside a span')
    await withSpan('inner', {}, async (span) => { span.setAttributes({ 'inner.outcome': 'ok' }) }, { kind: SPAN_KINDS.client })
    // Nothing under untraced() is recorded, but a root span started there is (a trace of its own).
    await untraced(async () => {
      await withSpan('suppressed', {}, async () => {})
      await withSpan('own-root', {}, async () => { await withSpan('under-own-root', {}, async () => {}) }, { root: true })
    })
    await withSpan('failing', {}, async () => { throw new RangeError(`${CANARY} in a message`) }).catch(() => {})
  })
  // Whatever an instrumentation records: queries stripped, bodies and headers dropped, messages cleaned.
  const tracer = trace.getTracer('test')
  const raw = tracer.startSpan('instrumented', {
    attributes: {
      'url.full': `https://user:pw@graph.example.test/refresh_access_token?access_token=${CANARY}#frag`,
      'url.path': `/callback?code=${CANARY}`,
      'http.target': '/plain',
      'url.query': `code=${CANARY}`,
      'http.request.header.authorization': `Bearer ${CANARY}`,
      'http.request.body': CANARY,
      'db.query.parameter.0': CANARY
    }
  })
  raw.setStatus({ code: SpanStatusCode.ERROR, message: `Route GET:/x?code=${CANARY} not found` })
  raw.end()

  // An app built after the start: @fastify/otel attaches through Fastify's initialization channel.
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const hooks = new WebhookReceiver()
  hooks.mode = { kind: 'status', status: 500 }
  await hooks.listen(t)
  const logs = new LogCapture()
  const config = testConfig({ TOKENS_TABLE: table.name, INTERNAL_API_KEY: KEY, CRON_SECRET: `${CANARY}-cron-secret-0123456789`, REAUTH_WEBHOOK_URL: hooks.url, REAUTH_WEBHOOK_SECRET: webhookSecret(), LOG_LEVEL: 'debug', ...reddit.env() })
  const app = await buildApp(t, { config, logs, webhooks: { pollMs: 50, schedule: [60_000] } })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys) })
  const [token] = await seedTokens(store, reddit, 1, { expiresInMs: 2 * 60_000, now: Date.now })
  t.equal((await app.inject({ method: 'GET', url: `/readyz?probe=${CANARY}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/healthz?probe=${CANARY}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/nowhere?code=${CANARY}` })).statusCode, 404)
  reddit.failNext('refresh', { kind: 'invalid_grant' })
  const refused = await app.inject({ method: 'GET', url: `/api/internal/tokens/${token!.userId}/reddit`, headers: { authorization: `Bearer ${KEY}` } })
  t.equal(refused.statusCode, 409)
  await waitFor(() => hooks.deliveries.length === 1)
  await receiver.waitFor((spans) => spans.some((s) => s.name === 'webhook.delivery') && spans.some((s) => s.name === 'token.handout') && spans.some((s) => s.name === 'instrumented'), 10_000, 'spans')

  const outer = receiver.named('outer')[0]!
  t.match(outer.attributes, { 'a.count': 1 })
  t.notOk('a.skipped' in outer.attributes, 'undefined attributes are left out')
  const inner = receiver.childrenOf(outer).find((s) => s.name === 'inner')
  t.match(inner, { kind: 3, attributes: { 'inner.outcome': 'ok' } }, 'a client child span')
  t.equal(receiver.named('suppressed').length, 0, 'untraced: not recorded')
  const ownRoot = receiver.named('own-root')[0]
  t.equal(ownRoot?.parentSpanId, '', 'root: true starts a trace of its own')
  t.not(ownRoot?.traceId, outer.traceId)
  t.equal(receiver.named('under-own-root')[0]?.parentSpanId, ownRoot?.spanId, 'and its children are recorded')
  const failing = receiver.childrenOf(outer).find((s) => s.name === 'failing')
  t.same(failing?.status, { code: 2, message: 'RangeError' }, 'an error status with the name, not the message')

  const instrumented = receiver.named('instrumented')[0]!
  t.equal(instrumented.attributes['url.full'], 'https://graph.example.test/refresh_access_token', 'query, fragment and credentials gone')
  t.equal(instrumented.attributes['url.path'], '/callback')
  t.equal(instrumented.attributes['http.target'], '/plain', 'a path without a query is kept')
  for (const key of ['url.query', 'http.request.header.authorization', 'http.request.body', 'db.query.parameter.0']) t.notOk(key in instrumented.attributes, `${key} dropped`)
  t.equal(instrumented.status.message, 'Route GET:/x not found')

  const ready = receiver.named('GET /readyz')[0]
  t.equal(ready?.scope, '@fastify/otel')
  t.equal(ready?.attributes['url.path'], '/readyz')
  t.equal(receiver.named(/healthz/).length, 0, 'no span for the liveness probe')
  t.ok(receiver.named('GET unmatched').some((s) => s.attributes['url.path'] === '/nowhere' && s.attributes['http.response.status_code'] === 404), 'a 404 under its bare path')

  const handout = receiver.named('token.handout')[0]!
  t.match(handout.attributes, { 'handout.platform': 'reddit', 'handout.outcome': 'needs_reauth', 'handout.force': false })
  const request = receiver.spans.find((s) => s.spanId === handout.parentSpanId)
  t.equal(request?.name, 'GET /api/internal/tokens/:userId/:platform', 'the handout under its request')
  const refresh = receiver.childrenOf(handout).find((s) => s.name === 'refresh.token')!
  t.match(refresh.attributes, { 'refresh.platform': 'reddit', 'refresh.outcome': 'needsReauth', 'refresh.error_code': 'invalid_grant' })
  const call = receiver.childrenOf(refresh).find((s) => s.name === 'provider POST')
  t.match(call?.attributes, { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 400 })

  const delivery = receiver.named('webhook.delivery')[0]!
  t.match(delivery.attributes, { 'webhook.event_type': 'connection.needs_reauth', 'webhook.outcome': 'failed', 'webhook.error_code': 'http_500', 'webhook.attempt': 1, 'webhook.platform': 'reddit' })
  t.equal(delivery.parentSpanId, '', 'a delivery is a trace of its own (the poll that found it is not traced)')

  const lines = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const needsReauthLine = lines.find((l) => l.msg === 'token needs re-authorisation')
  t.equal(needsReauthLine?.trace_id, refresh.traceId, 'a log line inside the refresh carries its trace')
  t.equal(needsReauthLine?.span_id, refresh.spanId, '…and its span')

  t.notOk(receiver.rawText.includes(CANARY), 'no canary in any export')
  t.notOk(receiver.rawText.includes(token!.accessToken) || receiver.rawText.includes(token!.refreshToken ?? 'x'), 'no token in any export')

  // The flush at shutdown: a span ended just before is exported; after it, tracing is off.
  await withSpan('last', {}, async () => {})
  await shutdownTracing()
  t.equal(tracingActive(), false)
  t.equal(receiver.named('last').length, 1, 'flushed at shutdown')
})
