// Instagram's module against the fake Instagram: authorize parameters, both code-exchange shapes, the
// long-lived exchange, /me, refresh with the access token itself, Graph error codes, no revocation,
// and no token or app secret (both ride in these URLs' queries) in any error.
import t, { type Test } from 'tap'
import { DEFAULT_USER_AGENT } from '../../src/platforms/provider-http.js'
import { InstagramFake } from '../fakes/instagram.js'
import { FIXED_NOW_MS, leakText, platformUnderTest } from '../fakes/platform-under-test.js'

async function setup (tt: Test, timeoutMs = 2_000) {
  const fake = await InstagramFake.start(tt)
  const instagram = platformUnderTest('instagram', fake.env(), { timeoutMs })
  return { fake, instagram }
}

async function code (fake: InstagramFake, instagram: ReturnType<typeof platformUnderTest>): Promise<string> {
  return (await fake.authorize(instagram.authorizationUrl({ state: 'st' }))).searchParams.get('code') ?? ''
}

t.test('authorize URL: client_id, comma-separated scopes, no PKCE', async (t) => {
  const { fake, instagram } = await setup(t)
  t.equal(instagram.usesPkce, false)
  const url = instagram.authorizationUrl({ state: 'st-7' })
  t.equal(`${url.origin}${url.pathname}`, `${fake.url}/oauth/authorize`)
  t.same(Object.fromEntries(url.searchParams), {
    client_id: fake.clientId,
    redirect_uri: fake.redirectUri,
    response_type: 'code',
    scope: 'instagram_business_basic,instagram_business_content_publish',
    state: 'st-7'
  })
})

for (const shape of ['flat', 'data'] as const) {
  t.test(`code exchange (${shape} answer) → long-lived token → account`, async (t) => {
    const { fake, instagram } = await setup(t)
    fake.codeShape = shape
    const c = await code(fake, instagram)
    const grant = await instagram.exchangeCode({ code: c })
    t.same(grant.account, { id: fake.user.id, username: fake.user.username })
    t.equal(grant.expiresAtMs, FIXED_NOW_MS + fake.longLivedExpiresInSec * 1000, 'the stored token is the long-lived one')
    t.equal(grant.refreshToken, undefined)
    t.same(grant.scopes, ['instagram_business_basic', 'instagram_business_content_publish'])

    const [exchange] = fake.requestsTo('code')
    t.same(exchange?.form, { client_id: fake.clientId, client_secret: fake.clientSecret, grant_type: 'authorization_code', redirect_uri: fake.redirectUri, code: c })
    const [longLived] = fake.requestsTo('exchange')
    t.equal(longLived?.method, 'GET')
    t.equal(longLived?.query.grant_type, 'ig_exchange_token')
    t.equal(longLived?.query.client_secret, fake.clientSecret)
    t.not(longLived?.query.access_token, grant.accessToken, 'the short-lived token was exchanged, the long-lived one is stored')
    const [me] = fake.requestsTo('userinfo')
    t.equal(me?.query.fields, 'user_id,username')
    t.equal(me?.query.access_token, undefined, 'the token goes in the header, not the URL')
    t.equal(me?.headers.authorization, `Bearer ${grant.accessToken}`)
    for (const r of fake.requests.filter((r) => r.endpoint !== 'authorize')) t.equal(r.headers['user-agent'], DEFAULT_USER_AGENT)
  })
}

t.test('exchange failures map to the callback\'s codes, with no secret in the error', async (t) => {
  const { fake, instagram } = await setup(t)
  const errors: unknown[] = []
  const expectFailure = async (name: string, expected: object) => {
    const err = await instagram.exchangeCode({ code: await code(fake, instagram) }).catch((e: unknown) => e)
    t.match(err, expected, name)
    errors.push(err)
  }
  const reused = await code(fake, instagram)
  await instagram.exchangeCode({ code: reused })
  const again = await instagram.exchangeCode({ code: reused }).catch((e: unknown) => e)
  t.match(again, { code: 'exchange_failed', reason: 'http_4xx' }, 'a used code')
  errors.push(again)
  fake.failNext('exchange', { kind: 'graph_error', code: 190 })
  await expectFailure('long-lived exchange refused', { code: 'exchange_failed', reason: 'graph_190' })
  fake.failNext('exchange', { kind: 'graph_error', code: 2, status: 500 })
  await expectFailure('long-lived exchange outage', { code: 'provider_unavailable', reason: 'graph_2' })
  fake.failNext('code', { kind: 'status', status: 500 })
  await expectFailure('code exchange 500', { code: 'provider_unavailable', reason: 'http_5xx' })
  fake.failNext('code', { kind: 'broken_json' })
  await expectFailure('code exchange broken JSON', { code: 'exchange_failed', reason: 'malformed_response' })
  fake.failNext('userinfo', { kind: 'graph_error', code: 190 })
  await expectFailure('account lookup refused', { code: 'exchange_failed', reason: 'http_4xx' })
  const secrets = [fake.clientSecret, ...fake.ledger.allSecrets()]
  t.same(secrets.filter((s) => errors.some((e) => leakText(e).includes(s))), [], 'no token, code or secret in any error')
})

t.test('refresh: GET ig_refresh_token with the access token itself', async (t) => {
  const { fake, instagram } = await setup(t)
  const seeded = fake.seedGrant()
  const outcome = await instagram.refresh({ accessToken: seeded.accessToken })
  t.match(outcome, { kind: 'refreshed', grant: { expiresAtMs: FIXED_NOW_MS + fake.longLivedExpiresInSec * 1000, refreshToken: undefined } })
  t.equal(outcome.kind === 'refreshed' ? outcome.warning : 'x', undefined)
  const [request] = fake.requestsTo('refresh')
  t.equal(request?.method, 'GET')
  t.same(request?.query, { grant_type: 'ig_refresh_token', access_token: seeded.accessToken }, 'no client secret on refresh')
  t.equal(fake.timesPresented(seeded.accessToken), 1)
})

t.test('every Graph code and failure switch gives the contract\'s outcome', async (t) => {
  const { fake, instagram } = await setup(t, 300)
  const cases: Array<[string, Parameters<typeof fake.failNext>[1], unknown]> = [
    ...[1, 2, 4, 17, 341].map((n): [string, Parameters<typeof fake.failNext>[1], unknown] =>
      [`Graph ${n}`, { kind: 'graph_error', code: n }, { kind: 'transient', code: `graph_${n}` }]),
    ['Graph 190', { kind: 'graph_error', code: 190 }, { kind: 'permanent', code: 'graph_190' }],
    ['Graph 190 with HTTP 401', { kind: 'graph_error', code: 190, status: 401 }, { kind: 'permanent', code: 'graph_190' }],
    ['an unknown Graph code stays transient', { kind: 'graph_error', code: 10 }, { kind: 'transient', code: 'graph_10' }],
    ['Graph error in a 200', { kind: 'error_in_200', error: 'x' }, { kind: 'transient', code: 'graph_1' }],
    ['500', { kind: 'status', status: 500 }, { kind: 'transient', code: 'http_5xx' }],
    ['429 + Retry-After', { kind: 'rate_limited', retryAfter: '60' }, { kind: 'transient', code: 'rate_limited', retryAfterMs: 60_000 }],
    ['HTML', { kind: 'html' }, { kind: 'transient', code: 'malformed_response' }],
    ['broken JSON', { kind: 'broken_json' }, { kind: 'transient', code: 'malformed_response' }],
    ['hang', { kind: 'hang' }, { kind: 'transient', code: 'timeout' }]
  ]
  for (const [name, fault, expected] of cases) {
    const seeded = fake.seedGrant()
    fake.failNext('refresh', fault)
    const outcome = await instagram.refresh({ accessToken: seeded.accessToken })
    t.same(outcome, expected, name)
    t.same([fake.clientSecret, seeded.accessToken].filter((s) => leakText(outcome).includes(s)), [], `${name}: no secret`)
  }
  t.same(await instagram.refresh({ accessToken: 'IGQ-unknown' }), { kind: 'permanent', code: 'graph_190' }, 'an invalid token is Graph 190')
})

t.test('a non-positive expires_in keeps the new token, expiring now', async (t) => {
  const { fake, instagram } = await setup(t)
  const seeded = fake.seedGrant()
  fake.failNext('refresh', { kind: 'expires_in', value: -10 })
  t.match(await instagram.refresh({ accessToken: seeded.accessToken }), { kind: 'refreshed', warning: 'invalid_expires_in', grant: { expiresAtMs: FIXED_NOW_MS } })
})

t.test('no revocation endpoint: revoke answers false without calling anyone', async (t) => {
  const { fake, instagram } = await setup(t)
  t.equal(await instagram.revoke({ accessToken: fake.seedGrant().accessToken }), false)
  t.same(fake.requests, [])
})

t.test('an unreachable provider: transient network failure, no URL (with its token) in the error', async (t) => {
  const fake = new InstagramFake()
  await fake.listen()
  const env = fake.env()
  await fake.close()
  const instagram = platformUnderTest('instagram', env)
  t.same(await instagram.refresh({ accessToken: 'IGQ-canary-token' }), { kind: 'transient', code: 'network' })
  const err = await instagram.exchangeCode({ code: 'code-canary' }).catch((e: unknown) => e)
  t.match(err, { code: 'provider_unavailable', reason: 'network' })
  t.notOk(leakText(err).includes('code-canary'))
  t.notOk(leakText(err).includes(fake.clientSecret))
})
