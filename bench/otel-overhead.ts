// `otel_overhead_ratio` of `npm run bench`: `GET /api/platforms/status` (a verified JWT, one DynamoDB
// Query) req/s of the real server process with tracing on, exporting over OTLP/HTTP to a local
// receiver, ÷ the same process with tracing off, measured in the same run, interleaved (off, on, off,
// on) so a load that changes during the run weighs on both. Both processes start as the image starts
// the service (src/server.ts, production mode, a 256 MB heap); only OTEL_EXPORTER_OTLP_ENDPOINT differs.
// Alone: `node --import tsx bench/otel-overhead.ts` (its own embedded DynamoDB Local unless
// DYNAMODB_ENDPOINT is set).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createCipher, generateEncryptionKey } from '../src/store/crypto.js'
import { loadConfig } from '../src/config.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { startEmbeddedDynamoDb } from '../src/store/embedded-dynamodb.js'
import { ensureTable } from '../src/store/table.js'
import { createTokenStore } from '../src/store/token-store.js'
import { startJwksIssuer } from '../test/fakes/jwks-issuer.js'
import autocannon from 'autocannon'
import { benchEnv } from './bench-env.js'

/** One measured load: the client's figures and the server process's own CPU per request. */
export interface ServiceLoad {
  readonly reqPerSec: number
  readonly p99Ms: number
  readonly non2xx: number
  readonly errors: number
  /** CPU (user + system) of the service's process per request, from /proc: steadier than req/s on a busy machine. */
  readonly serverCpuUsPerReq: number
}

export interface OtelFigures {
  readonly on: ServiceLoad
  readonly off: ServiceLoad
  /** What the receiver got while the traced process ran. */
  readonly exports: number
  readonly exportedBytes: number
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))

const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_HTTP_DURATION_S ?? 5)
const ROUNDS = Number(process.env.BENCH_OTEL_ROUNDS ?? 2)

function mean (figures: readonly ServiceLoad[]): ServiceLoad {
  const avg = (pick: (f: ServiceLoad) => number): number => figures.reduce((n, f) => n + pick(f), 0) / figures.length
  return { reqPerSec: avg((f) => f.reqPerSec), p99Ms: Math.max(...figures.map((f) => f.p99Ms)), non2xx: avg((f) => f.non2xx), errors: avg((f) => f.errors), serverCpuUsPerReq: Math.round(avg((f) => f.serverCpuUsPerReq)) }
}

/** CPU microseconds (user + system) a process has used so far (Linux /proc; NaN elsewhere). */
function cpuUs (pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid ?? 'self'}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return Number.NaN
  }
}

/** autocannon against the service: a 2 s unmeasured warm-up, then the measured run with the server's CPU around it. */
async function loadService (service: { child: ChildProcess, url: string }, path: string, headers: Record<string, string>): Promise<ServiceLoad> {
  await autocannon({ url: `${service.url}${path}`, headers, connections: CONNECTIONS, duration: 2 })
  const cpu0 = cpuUs(service.child.pid)
  const r = await autocannon({ url: `${service.url}${path}`, headers, connections: CONNECTIONS, duration: DURATION_S })
  const cpu = cpuUs(service.child.pid) - cpu0
  return { reqPerSec: r.requests.average, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors, serverCpuUsPerReq: Math.round(cpu / Math.max(r.requests.total, 1)) }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The service as `npm start` runs it, with exactly `env`; resolves once /readyz answers 200. */
async function startService (env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200) return { child, url }
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  child.kill('SIGKILL')
  throw new Error('the service was not ready within 60 s')
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

export async function otelOverhead (opts: { endpoint: string, table: string, encryptionKey: string }): Promise<OtelFigures> {
  const issuer = await startJwksIssuer()
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: opts.endpoint })
  // A collector stand-in: reads each export whole and answers 200, as an OTLP/HTTP receiver does.
  let exports = 0
  let exportedBytes = 0
  const receiver = createServer((req, res) => {
    req.on('data', (c: Buffer) => { exportedBytes += c.length })
    req.on('end', () => {
      exports++
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const children: ChildProcess[] = []
  try {
    await ensureTable(dynamo.client, opts.table)
    const cipher = createCipher(loadConfig({ COOKIE_SECRET: 'x'.repeat(32), TOKEN_ENCRYPTION_KEY: opts.encryptionKey, APP_URL: 'https://bench.invalid' }).encryptionKeys)
    const store = createTokenStore({ doc: dynamo.doc, table: opts.table, cipher })
    const userId = `bench-otel-${randomUUID().slice(0, 8)}`
    for (const platform of ['tiktok', 'reddit', 'instagram']) {
      await store.saveConnection({ userId, platform, account: { id: `acct-${platform}`, username: 'bench' }, scopes: ['s'], accessToken: 'at', refreshToken: 'rt', expiresAtMs: Date.now() + 3_600_000 })
    }
    const jwt = await issuer.accessToken({ sub: userId, expiresInSec: 3_600 })
    // The real server process in production mode, as it is deployed.
    const env = benchEnv(opts, {
      NODE_ENV: 'production',
      ...issuer.env,
      TIKTOK_CLIENT_KEY: 'k',
      TIKTOK_CLIENT_SECRET: 's',
      TIKTOK_REDIRECT_URI: 'https://bench.invalid/cb'
    })
    const off = await startService(env)
    children.push(off.child)
    // The SDK's defaults otherwise (batches of 512 every 5 s, a queue of 2,048 that drops when full).
    const on = await startService({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}` })
    children.push(on.child)
    const headers = { authorization: `Bearer ${jwt}` }
    for (const service of [off, on]) {
      const check = await fetch(`${service.url}/api/platforms/status`, { headers })
      if (check.status !== 200) throw new Error(`status answered ${check.status}`)
    }
    const rounds: Array<[ServiceLoad, ServiceLoad]> = []
    for (let i = 0; i < ROUNDS; i++) rounds.push([await loadService(off, '/api/platforms/status', headers), await loadService(on, '/api/platforms/status', headers)])
    const figures = { off: mean(rounds.map((r) => r[0])), on: mean(rounds.map((r) => r[1])) }
    for (const f of [figures.off, figures.on]) if (f.non2xx > 0 || f.errors > 0) throw new Error(`non-2xx or errors under load: ${JSON.stringify(f)}`)
    // Flushed at shutdown: the exports are counted once the traced process has stopped.
    await stop(on.child)
    if (exports === 0) throw new Error('the traced process exported nothing')
    return { ...figures, exports, exportedBytes }
  } finally {
    for (const child of children) await stop(child)
    dynamo.client.destroy()
    await issuer.close()
    receiver.closeAllConnections()
    await new Promise<void>((resolve) => receiver.close(() => resolve()))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const embedded = process.env.DYNAMODB_ENDPOINT === undefined ? await startEmbeddedDynamoDb() : undefined
  const endpoint = process.env.DYNAMODB_ENDPOINT ?? embedded?.endpoint ?? ''
  const table = `bench-otel-${randomUUID().slice(0, 8)}`
  try {
    const figures = await otelOverhead({ endpoint, table, encryptionKey: generateEncryptionKey('bench') })
    process.stderr.write(`# tracing off: ${JSON.stringify(figures.off)}; on: ${JSON.stringify(figures.on)}; ${figures.exports} exports, ${figures.exportedBytes} bytes\n`)
    process.stdout.write(`otel_overhead_ratio: ${(figures.on.reqPerSec / figures.off.reqPerSec).toFixed(3)}\n`)
  } finally {
    const admin = createDynamoClients({ region: 'us-east-1', endpoint })
    const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb')
    await admin.client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
    admin.client.destroy()
    await embedded?.stop()
  }
}
