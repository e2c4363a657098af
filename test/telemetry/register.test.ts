// Tracing off costs nothing: without OTEL_EXPORTER_OTLP_ENDPOINT no SDK module is even loaded (a
// child process loads the start-up as src/server.ts does and lists what it loaded); with it, the SDK,
// @fastify/otel and the AWS SDK instrumentation are, before the AWS SDK itself.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { CHILD_ENV_BASE } from '../helpers/child-env.js'
import { ROOT } from '../helpers/server-process.js'

const run = promisify(execFile)

async function loaded (env: Record<string, string>): Promise<{ active: boolean, packages: string[] }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-modules.ts'], { cwd: ROOT, env: { ...CHILD_ENV_BASE, ...env }, timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { active: boolean, packages: string[] }
}

t.test('no endpoint: tracing inactive, and no SDK, exporter or instrumentation module loaded', async (t) => {
  const off = await loaded({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'x' })
  t.equal(off.active, false)
  t.same(off.packages.filter((p) => p !== '@opentelemetry/api'), [], `only the API at most: ${off.packages.join(', ')}`)
})

t.test('OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: the same', async (t) => {
  for (const env of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }]) {
    const off = await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', ...env })
    t.equal(off.active, false, JSON.stringify(env))
    t.same(off.packages.filter((p) => p !== '@opentelemetry/api'), [])
  }
})

t.test('an endpoint: the SDK, @fastify/otel and the AWS SDK instrumentation are loaded, protobuf exporter by default', async (t) => {
  const on = await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })
  t.equal(on.active, true)
  for (const p of ['@opentelemetry/sdk-trace', '@fastify/otel', '@opentelemetry/instrumentation-aws-sdk', '@opentelemetry/exporter-trace-otlp-proto']) t.ok(on.packages.includes(p), p)
  t.notOk(on.packages.includes('@opentelemetry/instrumentation-http'), 'no generic http instrumentation')
  const json = await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })
  t.ok(json.packages.includes('@opentelemetry/exporter-trace-otlp-http'), 'http/json → the JSON exporter')
})
