// HTTP figures of `npm run bench`, each a ratio against a floor measured in the same run: the service's
// route under autocannon ÷ a bare Fastify route that makes the same DynamoDB call and nothing else.
// The floor has no logger, no hooks, no schema: what is left of the ratio is the service's own cost.
import { randomUUID } from 'node:crypto'
import autocannon from 'autocannon'
import Fastify, { type FastifyInstance } from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import type { Cipher } from '../src/store/crypto.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { ensureTable } from '../src/store/table.js'
import { createTokenStore } from '../src/store/token-store.js'
import { startJwksIssuer } from '../test/fakes/jwks-issuer.js'

export interface LoadFigure { readonly reqPerSec: number, readonly p99Ms: number, readonly non2xx: number, readonly errors: number }

const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50)
const DURATION_S = Number(process.env.BENCH_HTTP_DURATION_S ?? 5)

/** autocannon against one URL: a short unmeasured warm-up, then the measured run. */
export async function load (url: string, headers: Record<string, string>, connections = CONNECTIONS): Promise<LoadFigure> {
  await autocannon({ url, headers, connections, duration: 2 })
  const r = await autocannon({ url, headers, connections, duration: DURATION_S })
  return { reqPerSec: r.requests.average, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors }
}

function mean (figures: readonly LoadFigure[]): LoadFigure {
  const avg = (pick: (f: LoadFigure) => number): number => figures.reduce((n, f) => n + pick(f), 0) / figures.length
  return { reqPerSec: avg((f) => f.reqPerSec), p99Ms: Math.max(...figures.map((f) => f.p99Ms)), non2xx: avg((f) => f.non2xx), errors: avg((f) => f.errors) }
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
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DYNAMODB_ENDPOINT: opts.endpoint,
      TOKENS_TABLE: opts.table,
      COOKIE_SECRET: randomUUID() + randomUUID(),
      TOKEN_ENCRYPTION_KEY: opts.encryptionKey,
      APP_URL: 'https://bench.invalid',
      ...issuer.env,
      TIKTOK_CLIENT_KEY: 'k',
      TIKTOK_CLIENT_SECRET: 's',
      TIKTOK_REDIRECT_URI: 'https://bench.invalid/cb'
    })
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
