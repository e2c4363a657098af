// HTTP figures of `npm run bench`, each a ratio against a floor measured in the same run: the service's
// route under autocannon ÷ a bare Fastify route that makes the same DynamoDB call and nothing else.
// The floor has no logger, no hooks, no schema: what is left of the ratio is the service's own cost.
import { randomUUID } from 'node:crypto'
import autocannon, { type Request } from 'autocannon'
import Fastify, { type FastifyInstance } from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import type { Cipher } from '../src/store/crypto.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { ensureTable } from '../src/store/table.js'
import { createTokenStore } from '../src/store/token-store.js'
import { startJwksIssuer } from '../test/fakes/jwks-issuer.js'
import { seedDue } from './seed.js'
import { benchEnv } from './bench-env.js'

export interface LoadFigure {
  readonly reqPerSec: number
  readonly p99Ms: number
  readonly non2xx: number
  readonly errors: number
  /** CPU of this process (the server under test and autocannon's client) per request: the client's share is the same on both sides. */
  readonly cpuUsPerReq: number
}

const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_HTTP_DURATION_S ?? 5)

/**
 * autocannon against one URL: a short unmeasured warm-up, then the measured run. With `paths`, each
 * request asks for the next path of the cycle (one counter across all connections).
 */
export async function load (url: string, headers: Record<string, string>, connections = CONNECTIONS, paths?: readonly string[]): Promise<LoadFigure> {
  let next = 0
  const requests: Request[] | undefined = paths === undefined
    ? undefined
    : [{ setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length] as string }) }]
  const options = { url, headers, connections, ...(requests === undefined ? {} : { requests }) }
  await autocannon({ ...options, duration: 2 })
  const cpu = process.cpuUsage()
  const r = await autocannon({ ...options, duration: DURATION_S })
  const { user, system } = process.cpuUsage(cpu)
  return { reqPerSec: r.requests.average, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuUsPerReq: Math.round((user + system) / Math.max(r.requests.total, 1)) }
}

function mean (figures: readonly LoadFigure[]): LoadFigure {
  const avg = (pick: (f: LoadFigure) => number): number => figures.reduce((n, f) => n + pick(f), 0) / figures.length
  return { reqPerSec: avg((f) => f.reqPerSec), p99Ms: Math.max(...figures.map((f) => f.p99Ms)), non2xx: avg((f) => f.non2xx), errors: avg((f) => f.errors), cpuUsPerReq: Math.round(avg((f) => f.cpuUsPerReq)) }
}

async function listen (server: FastifyInstance): Promise<string> {
  await server.listen({ port: 0, host: '127.0.0.1' })
  const address = server.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

export interface StatusFigures { readonly status: LoadFigure, readonly floor: LoadFigure, readonly jwksRequests: number }

/**
 * `/api/platforms/status` with a verified JWT (signature, issuer, expiry, client id against a local
 * JWKS) ÷ a bare route making the same Query (listByUser) for the same user.
 */
export async function statusVsStoreFloor (opts: { endpoint: string, table: string, cipher: Cipher, encryptionKey: string }): Promise<StatusFigures> {
  const issuer = await startJwksIssuer()
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: opts.endpoint })
  const servers: FastifyInstance[] = []
  try {
    await ensureTable(dynamo.client, opts.table)
    const store = createTokenStore({ doc: dynamo.doc, table: opts.table, cipher: opts.cipher })
    const userId = `bench-status-${randomUUID().slice(0, 8)}`
    for (const platform of ['tiktok', 'reddit', 'instagram']) {
      await store.saveConnection({ userId, platform, account: { id: `acct-${platform}`, username: 'bench' }, scopes: ['s'], accessToken: 'at', refreshToken: 'rt', expiresAtMs: Date.now() + 3_600_000 })
    }
    const jwt = await issuer.accessToken({ sub: userId, expiresInSec: 3_600 })
    const config = loadConfig(benchEnv(opts, {
      ...issuer.env,
      TIKTOK_CLIENT_KEY: 'k',
      TIKTOK_CLIENT_SECRET: 's',
      TIKTOK_REDIRECT_URI: 'https://bench.invalid/cb'
    }))
    const service = Fastify({ ...serverOptions(config), logger: { level: 'warn' } })
    servers.push(service)
    await service.register(app, { config, dynamo })
    const serviceUrl = await listen(service)

    const floor = Fastify()
    servers.push(floor)
    floor.get('/floor', async () => ({ platforms: (await store.listByUser(userId)).map((r) => ({ platform: r.platform, status: r.status })) }))
    const floorUrl = await listen(floor)

    const headers = { authorization: `Bearer ${jwt}` }
    const check = await fetch(`${serviceUrl}/api/platforms/status`, { headers })
    if (check.status !== 200) throw new Error(`status answered ${check.status}`)
    // Interleaved (floor, service, floor, service): a load that changes during the run weighs on both.
    const rounds: Array<[LoadFigure, LoadFigure]> = []
    for (let i = 0; i < 2; i++) rounds.push([await load(`${floorUrl}/floor`, {}), await load(`${serviceUrl}/api/platforms/status`, headers)])
    return { status: mean(rounds.map((r) => r[1])), floor: mean(rounds.map((r) => r[0])), jwksRequests: issuer.jwksRequests() }
  } finally {
    for (const s of servers) await s.close()
    dynamo.client.destroy()
    await issuer.close()
  }
}

export interface InternalFigures { readonly internal: LoadFigure, readonly floor: LoadFigure, readonly users: number }

const INTERNAL_USERS = Number(process.env.BENCH_INTERNAL_USERS ?? 10_000)
const INTERNAL_KEY = `bench-internal-${randomUUID()}`

/**
 * `GET /api/internal/tokens/:userId/:platform` (Bearer INTERNAL_API_KEY) on fresh tokens ÷ a bare
 * route making the same consistent GetItem and the same decryption (the token store's `get` and
 * `openSecrets`, as the handout does), answering the token as JSON. `users` fresh TikTok tokens in a
 * table of their own (23 h left, far above TOKEN_MIN_TTL_MS: no refresh), each request the next user
 * of the cycle, so the figure is handouts of many items, not one item DynamoDB keeps hot.
 */
export async function internalVsStoreFloor (opts: { endpoint: string, table: string, cipher: Cipher, encryptionKey: string }): Promise<InternalFigures> {
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: opts.endpoint })
  const servers: FastifyInstance[] = []
  try {
    await ensureTable(dynamo.client, opts.table)
    const prefix = 'bench-internal-'
    const grants = Array.from({ length: INTERNAL_USERS }, (_, i) => ({ at: `internal-at-${i}`, rt: `internal-rt-${i}` }))
    await seedDue(grants, { doc: dynamo.doc, table: opts.table, cipher: opts.cipher, platform: 'tiktok', nowMs: Date.now(), lifetimeMs: 24 * 3_600_000, remainingMs: 23 * 3_600_000, prefix, parallel: 16 })
    const store = createTokenStore({ doc: dynamo.doc, table: opts.table, cipher: opts.cipher })
    const config = loadConfig(benchEnv(opts, {
      INTERNAL_API_KEY: INTERNAL_KEY,
      TIKTOK_CLIENT_KEY: 'k',
      TIKTOK_CLIENT_SECRET: 's',
      TIKTOK_REDIRECT_URI: 'https://bench.invalid/cb'
    }))
    const service = Fastify({ ...serverOptions(config), logger: { level: 'warn' } })
    servers.push(service)
    await service.register(app, { config, dynamo })
    const serviceUrl = await listen(service)

    const floor = Fastify()
    servers.push(floor)
    floor.get<{ Params: { userId: string } }>('/floor/:userId', async (request) => {
      const record = await store.get({ userId: request.params.userId, platform: 'tiktok' }, true)
      if (record === undefined) throw new Error('not seeded')
      return { accessToken: store.openSecrets(record).accessToken, expiresAt: new Date(record.expiresAtMs ?? 0).toISOString() }
    })
    const floorUrl = await listen(floor)

    const headers = { authorization: `Bearer ${INTERNAL_KEY}` }
    const users = grants.map((_, i) => `${prefix}${i}`)
    // Both hand out the token that was seeded (a fresh one: the service did not refresh it).
    for (const [url, h] of [[`${serviceUrl}/api/internal/tokens/${users[7] ?? ''}/tiktok`, headers], [`${floorUrl}/floor/${users[7] ?? ''}`, {}]] as const) {
      const check = await fetch(url, { headers: h })
      const body = await check.json() as { accessToken?: string }
      if (check.status !== 200 || body.accessToken !== 'internal-at-7') throw new Error(`${url} answered ${check.status}`)
    }
    const rounds: Array<[LoadFigure, LoadFigure]> = []
    for (let i = 0; i < 2; i++) {
      rounds.push([
        await load(floorUrl, {}, CONNECTIONS, users.map((u) => `/floor/${u}`)),
        await load(serviceUrl, headers, CONNECTIONS, users.map((u) => `/api/internal/tokens/${u}/tiktok`))
      ])
    }
    const figures = { internal: mean(rounds.map((r) => r[1])), floor: mean(rounds.map((r) => r[0])), users: users.length }
    // A 401 or 404 answers faster than a handout: a figure with any is not the handout's.
    if (figures.internal.non2xx > 0 || figures.internal.errors > 0 || figures.floor.non2xx > 0 || figures.floor.errors > 0) throw new Error(`not every answer was a 200: ${JSON.stringify(figures)}`)
    return figures
  } finally {
    for (const s of servers) await s.close()
    dynamo.client.destroy()
  }
}
