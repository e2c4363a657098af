// Regression (issue 14): `requestTimeout` only warned unless `throwOnRequestTimeout` was set, so with
// DynamoDB accepting connections and never answering, `/last` and every call without its own abort
// signal hung until the socket closed. Every route that touches the store now answers the contract's
// store_unavailable within the bound createDynamoClients sets, through the production client options.
import { sign } from '@fastify/cookie'
import { randomBytes } from 'node:crypto'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { createDynamoClients, STORE_CALL_BOUND_MS } from '../../src/store/dynamodb-client.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { buildApp, createTestTable, dynamoEndpoint } from '../helper.js'
import { stallingProxy } from '../helpers/stalling-proxy.js'

t.test('a DynamoDB that accepts connections and never answers: every route gives up within the bound', async (t) => {
  const issuer = await startJwksIssuer()
  t.teardown(() => issuer.close())
  const table = await createTestTable(t, 'stalled')
  const proxy = await stallingProxy(t, dynamoEndpoint())
  // The production defaults: no test-only timeout or attempt count.
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: proxy.endpoint })
  t.teardown(() => dynamo.client.destroy())
  const COOKIE_SECRET = randomBytes(32).toString('base64url')
  const cronSecret = 'stalled-cron-secret-0123456789'
  const internalKey = 'stalled-internal-key-0123456789'
  const app = await buildApp(t, {
    env: {
      ...issuer.env,
      TOKENS_TABLE: table.name,
      COOKIE_SECRET,
      CRON_SECRET: cronSecret,
      INTERNAL_API_KEY: internalKey,
      REDDIT_CLIENT_ID: 'reddit-id',
      REDDIT_CLIENT_SECRET: 'reddit-secret-0123456789',
      REDDIT_REDIRECT_URI: 'https://app.example.test/api/auth/reddit/callback'
    },
    dynamo
  })
  const user = { authorization: `Bearer ${await issuer.accessToken()}` }
  const cron = { 'x-cron-secret': cronSecret }
  const internal = { authorization: `Bearer ${internalKey}` }
  const internalUrl = '/api/internal/tokens/stalled-user/reddit'
  // Warm: the proxy does pass calls through until it stalls.
  t.equal((await app.inject({ url: '/api/platforms/status', headers: user })).statusCode, 200, 'answers before the stall')
  // The key is accepted and the route reads the store (nothing connected yet): the 503 below is the stall's.
  const before = await app.inject({ url: internalUrl, headers: internal })
  t.equal(before.statusCode, 404, 'the internal route answers before the stall')
  t.same(before.json(), { ok: false, error: 'not_connected' })
  proxy.stall()

  const nonce = randomBytes(32).toString('base64url')
  const state = randomBytes(32).toString('base64url')
  const calls: Array<[string, InjectOptions, (res: LightMyRequestResponse) => void]> = [
    ['status', { url: '/api/platforms/status', headers: user }, (res) => { t.equal(res.statusCode, 503); t.same(res.json(), { ok: false, error: 'store_unavailable' }) }],
    ['delete', { method: 'DELETE', url: '/api/platforms/reddit', headers: user }, (res) => { t.equal(res.statusCode, 503); t.same(res.json(), { ok: false, error: 'store_unavailable' }) }],
    ['start', { url: '/api/auth/reddit', headers: user }, (res) => { t.equal(res.statusCode, 503); t.same(res.json(), { ok: false, error: 'store_unavailable' }) }],
    ['callback', { url: `/api/auth/reddit/callback?code=c&state=${state}`, headers: { cookie: `oauth_flow_reddit=${sign(nonce, COOKIE_SECRET)}` } }, (res) => {
      t.equal(res.statusCode, 302)
      t.match(res.headers.location, /[?&]error=store_unavailable&platform=reddit$/)
    }],
    ['/last', { url: '/api/cron/refresh-oauth/last', headers: cron }, (res) => { t.equal(res.statusCode, 503); t.same(res.json(), { ok: false, error: 'store_unavailable' }) }],
    ['cron run', { url: '/api/cron/refresh-oauth?wait=true', headers: cron }, (res) => { t.equal(res.statusCode, 503); t.same(res.json(), { ok: false, error: 'store_unavailable' }) }],
    ['internal token', { url: internalUrl, headers: internal }, (res) => {
      t.equal(res.statusCode, 503)
      t.same(res.json(), { ok: false, error: 'store_unavailable' })
      t.equal(res.headers['cache-control'], 'no-store', 'the internal route never lets an answer be cached')
    }]
  ]
  const ceilingMs = STORE_CALL_BOUND_MS + 1_500
  await Promise.all(calls.map(async ([name, request, check]) => {
    const t0 = performance.now()
    let timer: NodeJS.Timeout | undefined
    const res = await Promise.race([
      app.inject(request),
      // Before the fix these hung for good: fail the case instead of the whole file.
      new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ceilingMs + 5_000) })
    ])
    clearTimeout(timer)
    const elapsedMs = Math.round(performance.now() - t0)
    if (res === undefined) {
      t.fail(`${name}: no answer after ${elapsedMs} ms`)
      return
    }
    check(res)
    t.ok(elapsedMs <= ceilingMs, `${name}: answered in ${elapsedMs} ms (bound ${STORE_CALL_BOUND_MS} ms)`)
  }))
})
