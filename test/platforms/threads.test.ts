// Threads' module against the fake Threads: authorize parameters, the code exchange, the long-lived
// exchange (th_exchange_token), /v1.0/me, refresh with the access token itself (th_refresh_token),
// Graph error codes (190 → needs re-authorisation), no revocation, and no secret in any error.
import t, { type Test } from 'tap'
import { DEFAULT_USER_AGENT } from '../../src/platforms/provider-http.js'
import { THREADS_WIRE, threadsSpec } from '../../src/platforms/threads.js'
import { FIXED_NOW_MS, leakText, platformUnderTest } from '../fakes/platform-under-test.js'
import { ThreadsFake } from '../fakes/threads.js'

async function setup (tt: Test, timeoutMs = 2_000) {
  const fake = await ThreadsFake.start(tt)
  const threads = platformUnderTest('threads', fake.env(), { timeoutMs })
  return { fake, threads }
}

async function code (fake: ThreadsFake, threads: ReturnType<typeof platformUnderTest>): Promise<string> {
  return (await fake.authorize(threads.authorizationUrl({ state: 'st' }))).searchParams.get('code') ?? ''
}

t.test('the spec: the contract\'s real endpoints, scopes, 7-day window, 24 h minimum age, no revocation', async (t) => {
  t.same(threadsSpec.defaultUrls, {
    authorize: 'https://threads.net/oauth/authorize',
    token: 'https://graph.threads.net/oauth/access_token',
    exchange: 'https://graph.threads.net/access_token',
    refresh: 'https://graph.threads.net/refresh_access_token',
    userinfo: 'https://graph.threads.net/v1.0/me',
    api: 'https://graph.threads.net'
  })
  t.same(threadsSpec.defaultScopes, ['threads_basic', 'threads_content_publish'])
  t.equal(threadsSpec.defaultRefreshWindowMs, 7 * 24 * 3_600_000)
  t.equal(threadsSpec.minRefreshAgeMs, 24 * 3_600_000)
  t.equal(THREADS_WIRE.userFields, 'id,username')
})

t.test('authorize URL: client_id, comma-separated scopes, no PKCE', async (t) => {
  const { fake, threads } = await setup(t)
  t.equal(threads.usesPkce, false)
  const url = threads.authorizationUrl({ state: 'st-7', codeChallenge: 'ignored' })
  t.equal(`${url.origin}${url.pathname}`, `${fake.url}/oauth/authorize`)
  t.same(Object.fromEntries(url.searchParams), {
    client_id: fake.clientId,
    redirect_uri: fake.redirectUri,
    response_type: 'code',
    scope: 'threads_basic,threads_content_publish',
    state: 'st-7'
  })
})

t.test('code exchange → long-lived token (th_exchange_token) → account from /v1.0/me', async (t) => {
  const { fake, threads } = await setup(t)
  const c = await code(fake, threads)
  const grant = await threads.exchangeCode({ code: c })
  t.same(grant.account, { id: fake.user.id, username: fake.user.username })
  t.equal(grant.expiresAtMs, FIXED_NOW_MS + fake.longLivedExpiresInSec * 1000, 'the stored token is the long-lived one')
  t.equal(grant.refreshToken, undefined)
  t.same(grant.scopes, ['threads_basic', 'threads_content_publish'], 'the configured scopes: the answer lists none')

  const [exchange] = fake.requestsTo('code')
  t.equal(exchange?.method, 'POST')
  t.same(exchange?.form, { client_id: fake.clientId, client_secret: fake.clientSecret, grant_type: 'authorization_code', redirect_uri: fake.redirectUri, code: c })
  const [longLived] = fake.requestsTo('exchange')
  t.equal(longLived?.method, 'GET')
  t.equal(longLived?.query.grant_type, 'th_exchange_token')
  t.equal(longLived?.query.client_secret, fake.clientSecret)
  t.not(longLived?.query.access_token, grant.accessToken, 'the short-lived token was exchanged, the long-lived one is stored')
  const [me] = fake.requestsTo('userinfo')
  t.equal(me?.path, '/v1.0/me')
  t.equal(me?.query.fields, 'id,username')
  t.equal(me?.query.access_token, undefined, 'the token goes in the header, not the URL')
  t.equal(me?.headers.authorization, `Bearer ${grant.accessToken}`)
  for (const r of fake.requests.filter((r) => r.endpoint !== 'authorize')) t.equal(r.headers['user-agent'], DEFAULT_USER_AGENT)
})

t.test('exchange failures map to the callback\'s codes, with no secret in the error', async (t) => {
  const { fake, threads } = await setup(t)
  const errors: unknown[] = []
  const expectFailure = async (name: string, expected: object): Promise<void> => {
    const err = await threads.exchangeCode({ code: await code(fake, threads) }).catch((e: unknown) => e)
    t.match(err, expected, name)
    errors.push(err)
  }
  fake.failNext('exchange', { kind: 'graph_error', code: 190 })
  await expectFailure('long-lived exchange refused', { code: 'exchange_failed', reason: 'graph_190' })
  fake.failNext('exchange', { kind: 'graph_error', code: 4 })
  await expectFailure('long-lived exchange rate-limited', { code: 'provider_unavailable', reason: 'graph_4' })
  fake.failNext('code', { kind: 'status', status: 502 })
  await expectFailure('code exchange 502', { code: 'provider_unavailable', reason: 'http_5xx' })
  fake.failNext('code', { kind: 'html' })
  await expectFailure('code exchange HTML', { code: 'exchange_failed', reason: 'malformed_response' })
  fake.failNext('userinfo', { kind: 'graph_error', code: 190 })
  await expectFailure('account lookup refused', { code: 'exchange_failed', reason: 'http_4xx' })
  const err = await threads.exchangeCode({ code: 'THQ-not-a-code' }).catch((e: unknown) => e)
  t.match(err, { code: 'exchange_failed', reason: 'http_4xx' }, 'an unknown code')
  errors.push(err)
  const secrets = [fake.clientSecret, ...fake.ledger.allSecrets()]
  t.same(secrets.filter((s) => errors.some((e) => leakText(e).includes(s))), [], 'no token, code or secret in any error')
})

t.test('refresh: GET th_refresh_token with the access token itself', async (t) => {
  const { fake, threads } = await setup(t)
  const seeded = fake.seedGrant()
  const outcome = await threads.refresh({ accessToken: seeded.accessToken })
  t.match(outcome, { kind: 'refreshed', grant: { expiresAtMs: FIXED_NOW_MS + fake.longLivedExpiresInSec * 1000, refreshToken: undefined } })
  const [request] = fake.requestsTo('refresh')
  t.equal(request?.method, 'GET')
  t.equal(request?.path, '/refresh_access_token')
  t.same(request?.query, { grant_type: 'th_refresh_token', access_token: seeded.accessToken }, 'no client secret on refresh')
  t.equal(fake.timesPresented(seeded.accessToken), 1)
})

t.test('Graph codes: 190 is permanent, the documented retryable ones transient', async (t) => {
  const { fake, threads } = await setup(t, 300)
  const cases: Array<[string, Parameters<typeof fake.failNext>[1], unknown]> = [
    ...[1, 2, 4, 17, 341].map((n): [string, Parameters<typeof fake.failNext>[1], unknown] =>
      [`Graph ${n}`, { kind: 'graph_error', code: n }, { kind: 'transient', code: `graph_${n}` }]),
    ['Graph 190', { kind: 'graph_error', code: 190 }, { kind: 'permanent', code: 'graph_190' }],
    ['an unknown Graph code stays transient', { kind: 'graph_error', code: 10 }, { kind: 'transient', code: 'graph_10' }],
    ['429 + Retry-After', { kind: 'rate_limited', retryAfter: '60' }, { kind: 'transient', code: 'rate_limited', retryAfterMs: 60_000 }],
    ['hang', { kind: 'hang' }, { kind: 'transient', code: 'timeout' }]
  ]
  for (const [name, fault, expected] of cases) {
    const seeded = fake.seedGrant()
    fake.failNext('refresh', fault)
    const outcome = await threads.refresh({ accessToken: seeded.accessToken })
    t.same(outcome, expected, name)
    t.same([fake.clientSecret, seeded.accessToken].filter((s) => leakText(outcome).includes(s)), [], `${name}: no secret`)
  }
  t.same(await threads.refresh({ accessToken: 'THQ-unknown' }), { kind: 'permanent', code: 'graph_190' }, 'an invalid token is Graph 190')
})

t.test('no revocation endpoint: revoke answers false without calling anyone', async (t) => {
  const { fake, threads } = await setup(t)
  t.equal(await threads.revoke({ accessToken: fake.seedGrant().accessToken }), false)
  t.same(fake.requests, [])
})
