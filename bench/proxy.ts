// The provider API proxy's figures for `npm run bench`: proxied calls ÷ the same client calling the
// fake provider's API directly with each user's token (autocannon -c 50, many users, one run each,
// interleaved), the proxied p99, and the service's RSS growth while 50 callers upload 1 MiB each
// through the proxy at once (streamed: the growth must not be 50 × 1 MiB). The fake provider (the
// tests' TikTok, real HTTP) runs in its own process, so its memory and CPU are not the service's.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { createInterface } from 'node:readline'
import autocannon, { type Request } from 'autocannon'
import Fastify, { type FastifyInstance } from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import type { Cipher } from '../src/store/crypto.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { ensureTable } from '../src/store/table.js'
import type { LoadFigure } from './http-floor.js'
import { seedDue, type SeedGrant } from './seed.js'
import { benchEnv } from './bench-env.js'

const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_HTTP_DURATION_S ?? 5)
const USERS = Number(process.env.BENCH_PROXY_USERS ?? 2_000)
/** The fake API's answer latency: a provider API answers in tens of milliseconds, never in zero. */
export const PROXY_LATENCY_MS = Number(process.env.BENCH_PROXY_LATENCY_MS ?? 50)
const UPLOADS = 50
const UPLOAD_BYTES = 1024 * 1024
const KEY = `bench-proxy-${randomUUID()}`
const ACCOUNT_PATH = '/v2/user/info/?fields=open_id'

export interface ProxyFigures {
  readonly proxy: LoadFigure
  readonly direct: LoadFigure
  readonly users: number
  readonly latencyMs: number
  /** RSS (MB) before the uploads, and its peak while they ran. */
  readonly rssBeforeMb: number
  readonly rssPeakMb: number
  readonly uploadStatuses: Readonly<Record<string, number>>
}

interface FakeProvider { readonly env: Record<string, string>, readonly grants: SeedGrant[], stop (): void }

async function startFake (count: number, latencyMs: number): Promise<FakeProvider> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./provider-process.ts', import.meta.url).pathname, String(count), String(latencyMs)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const grants: SeedGrant[] = []
  let env: Record<string, string> | undefined
  for await (const line of createInterface({ input: child.stdout })) {
    const msg = JSON.parse(line) as { env?: Record<string, string>, done?: boolean, at?: string, rt?: string }
    if (msg.env !== undefined) env = msg.env
    else if (msg.done === true) break
    else grants.push({ at: msg.at ?? '', rt: msg.rt })
  }
  if (env === undefined) throw new Error('fake provider did not start')
  return { env, grants, stop: () => { child.stdin.end(); child.kill('SIGTERM') } }
}

/** autocannon over a cycle of requests (path and headers per request), warm-up first. */
async function load (url: string, cycle: ReadonlyArray<{ path: string, headers: Record<string, string> }>): Promise<LoadFigure> {
  let next = 0
  const requests: Request[] = [{ setupRequest: (request) => ({ ...request, ...cycle[next++ % cycle.length] }) }]
  await autocannon({ url, connections: CONNECTIONS, duration: 2, requests })
  const cpu = process.cpuUsage()
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, requests })
  const { user, system } = process.cpuUsage(cpu)
  return { reqPerSec: r.requests.average, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuUsPerReq: Math.round((user + system) / Math.max(r.requests.total, 1)) }
}

function mean (figures: readonly LoadFigure[]): LoadFigure {
  const avg = (pick: (f: LoadFigure) => number): number => figures.reduce((n, f) => n + pick(f), 0) / figures.length
  return { reqPerSec: avg((f) => f.reqPerSec), p99Ms: Math.max(...figures.map((f) => f.p99Ms)), non2xx: avg((f) => f.non2xx), errors: avg((f) => f.errors), cpuUsPerReq: Math.round(avg((f) => f.cpuUsPerReq)) }
}

/** One 1 MiB POST through the proxy, streamed in 64 KiB chunks; resolves with its status. */
async function upload (origin: string, userId: string): Promise<number> {
  return await new Promise((resolve) => {
    const req = httpRequest(`${origin}/api/internal/proxy/${userId}/tiktok/v2/post/publish/content/init/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream', 'content-length': String(UPLOAD_BYTES) }
    }, (res) => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
      res.on('error', () => { resolve(-1) })
    })
    req.on('error', () => { resolve(-1) })
    const chunk = Buffer.alloc(64 * 1024, 'u')
    let sent = 0
    const pump = (): void => {
      while (sent < UPLOAD_BYTES) {
        sent += chunk.length
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      req.end()
    }
    pump()
  })
}

export async function proxyFigures (opts: { endpoint: string, table: string, cipher: Cipher, encryptionKey: string, gc: () => void }): Promise<ProxyFigures> {
  const fake = await startFake(USERS, PROXY_LATENCY_MS)
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: opts.endpoint })
  let service: FastifyInstance | undefined
  try {
    await ensureTable(dynamo.client, opts.table)
    const prefix = 'bench-proxy-'
    // Fresh tokens (23 h left): no refresh, the proxy's own cost only.
    await seedDue(fake.grants, { doc: dynamo.doc, table: opts.table, cipher: opts.cipher, platform: 'tiktok', nowMs: Date.now(), lifetimeMs: 24 * 3_600_000, remainingMs: 23 * 3_600_000, prefix, parallel: 16 })
    const config = loadConfig(benchEnv(opts, {
      INTERNAL_API_KEY: KEY,
      ...fake.env
    }))
    service = Fastify({ ...serverOptions(config), logger: { level: 'warn' } })
    await service.register(app, { config, dynamo })
    await service.listen({ port: 0, host: '127.0.0.1' })
    const address = service.server.address()
    const origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    const apiBase = new URL(fake.env.TIKTOK_API_URL ?? '').origin

    const proxied = fake.grants.map((_, i) => ({ path: `/api/internal/proxy/${prefix}${i}/tiktok${ACCOUNT_PATH}`, headers: { authorization: `Bearer ${KEY}` } }))
    const direct = fake.grants.map((grant) => ({ path: ACCOUNT_PATH, headers: { authorization: `Bearer ${grant.at}` } }))
    // Both answer the account of the user whose token it is.
    for (const [url, headers] of [[`${origin}${proxied[3]!.path}`, proxied[3]!.headers], [`${apiBase}${ACCOUNT_PATH}`, direct[3]!.headers]] as const) {
      const check = await fetch(url, { headers })
      if (check.status !== 200) throw new Error(`${url} answered ${check.status}`)
      await check.arrayBuffer()
    }
    // Interleaved (direct, proxy, direct, proxy): a load that changes during the run weighs on both.
    const rounds: Array<[LoadFigure, LoadFigure]> = []
    for (let i = 0; i < 2; i++) rounds.push([await load(apiBase, direct), await load(origin, proxied)])
    const figures = { direct: mean(rounds.map((r) => r[0])), proxy: mean(rounds.map((r) => r[1])) }
    if (figures.proxy.non2xx > 0 || figures.proxy.errors > 0 || figures.direct.non2xx > 0 || figures.direct.errors > 0) throw new Error(`not every answer was a 200: ${JSON.stringify(figures)}`)

    // 50 callers upload 1 MiB each through the proxy at once, twice; RSS sampled every 20 ms.
    opts.gc()
    await new Promise((resolve) => setTimeout(resolve, 300))
    opts.gc()
    const rssBeforeMb = process.memoryUsage().rss / 1_048_576
    let rssPeakMb = rssBeforeMb
    const sampler = setInterval(() => { rssPeakMb = Math.max(rssPeakMb, process.memoryUsage().rss / 1_048_576) }, 20)
    const statuses: Record<string, number> = {}
    try {
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all(Array.from({ length: UPLOADS }, async (_, i) => await upload(origin, `${prefix}${i}`)))
        for (const status of answers) statuses[status] = (statuses[status] ?? 0) + 1
      }
    } finally {
      clearInterval(sampler)
    }
    return { ...figures, users: fake.grants.length, latencyMs: PROXY_LATENCY_MS, rssBeforeMb, rssPeakMb, uploadStatuses: statuses }
  } finally {
    await service?.close()
    dynamo.client.destroy()
    fake.stop()
  }
}
