// When traces are exported, as data: the endpoint variables, the switches that turn it off, the
// protocol, the service name; and the redaction rules one by one.
import t from 'tap'
import { redactAttributes, redactMessage, stripQuery } from '../../src/telemetry/redaction.js'
import { fastifyOtelOptions } from '../../src/telemetry/sdk.js'
import { DEFAULT_SERVICE_NAME, tracingSettings } from '../../src/telemetry/settings.js'

const ENDPOINT = 'http://collector:4318'

t.test('tracingSettings', async (t) => {
  t.equal(tracingSettings({}), undefined, 'no endpoint: off')
  t.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), undefined, 'an empty endpoint counts as unset')
  t.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), undefined, 'not an http(s) URL: off (the config schema refuses it at start-up)')
  t.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://' }), undefined, 'unparseable: off')
  t.same(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT }), { protocol: 'http/protobuf', serviceName: DEFAULT_SERVICE_NAME }, 'protobuf and our name by default')
  t.same(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` }), { protocol: 'http/protobuf', serviceName: DEFAULT_SERVICE_NAME }, 'the traces endpoint alone is enough')
  t.same(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'mine' }), { protocol: 'http/json', serviceName: undefined }, 'JSON; the SDK takes OTEL_SERVICE_NAME itself')
  t.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })?.protocol, 'http/json', 'the traces protocol wins')
  t.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SDK_DISABLED: 'TRUE' }), undefined, 'OTEL_SDK_DISABLED')
  t.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }), undefined, 'OTEL_TRACES_EXPORTER=none')
  t.ok(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SDK_DISABLED: 'false' }), 'OTEL_SDK_DISABLED=false is on')
})

t.test('stripQuery and redactMessage', async (t) => {
  t.equal(stripQuery('/api/auth/reddit/callback?code=abc&state=x'), '/api/auth/reddit/callback')
  t.equal(stripQuery('/a#b'), '/a')
  t.equal(stripQuery('https://u:p@host.test/p?q=1'), 'https://host.test/p')
  t.equal(stripQuery('/plain'), '/plain')
  t.equal(redactMessage('Route GET:/x?code=abc not found'), 'Route GET:/x not found')
  t.equal(redactMessage('plain message'), 'plain message')
})

t.test('redactAttributes', async (t) => {
  t.same(redactAttributes({ 'url.path': '/p?x=1', 'url.full': 'http://h/p', 'http.url': 'http://h/p?t=1', 'url.query': 'x=1', 'http.response.header.set-cookie': ['a'], 'db.operation.name': 'GetItem', 'url.original': 3 }), {
    set: { 'url.path': '/p', 'http.url': 'http://h/p' },
    remove: ['url.query', 'http.response.header.set-cookie']
  })
})

t.test('the @fastify/otel options: no hook or handler spans, no exception events, the bare path, the route as the name', async (t) => {
  const options = fastifyOtelOptions()
  t.match(options, { registerOnInitialization: true, instrumentHooks: false, instrumentHandler: false, recordExceptions: false })
  const ignore = options.ignorePaths as (o: { url: string, method: string }) => boolean
  t.equal(ignore({ url: '/healthz?x=1', method: 'GET' }), true)
  t.equal(ignore({ url: '/readyz', method: 'GET' }), false)
  const set: Record<string, unknown> = {}
  let name = ''
  const span = { setAttribute: (k: string, v: unknown) => { set[k] = v }, updateName: (n: string) => { name = n } }
  options.requestHook?.(span as never, { url: '/api/auth/reddit/callback?code=secret', method: 'GET', routeOptions: { url: '/api/auth/:platform/callback' } } as never)
  t.same(set, { 'url.path': '/api/auth/reddit/callback' })
  t.equal(name, 'GET /api/auth/:platform/callback')
  options.requestHook?.(span as never, { url: '/nope', method: 'POST', routeOptions: {} } as never)
  t.equal(name, 'POST unmatched')
})
