// TikTok's module against the fake TikTok: client_key and comma scopes, PKCE checked by the provider,
// body client auth, rotation (the old refresh token dies), user info, revocation, failure switches.
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client'
import t, { type Test } from 'tap'
import { DEFAULT_USER_AGENT } from '../../src/platforms/provider-http.js'
import { FIXED_NOW_MS, leakText, platformUnderTest } from '../fakes/platform-under-test.js'
import { TiktokFake } from '../fakes/tiktok.js'

async function setup (tt: Test, options: { rotate?: boolean, timeoutMs?: number } = {}) {
  const fake = await TiktokFake.start(tt, { rotate: options.rotate ?? true })
  const tiktok = platformUnderTest('tiktok', fake.env(), { timeoutMs: options.timeoutMs ?? 2_000, env: { TIKTOK_SCOPES: 'user.info.basic,video.list' } })
  return { fake, tiktok }
}

async function authorizedCode (fake: TiktokFake, tiktok: ReturnType<typeof platformUnderTest>) {
  const codeVerifier = randomPKCECodeVerifier()
  const codeChallenge = await calculatePKCECodeChallenge(codeVerifier)
  const back = await fake.authorize(tiktok.authorizationUrl({ state: 'st', codeChallenge }))
  return { code: back.searchParams.get('code') ?? '', codeVerifier }
}

t.test('authorize URL: client_key (not client_id), comma-separated scopes, PKCE S256', async (t) => {
  const { fake, tiktok } = await setup(t)
  t.equal(tiktok.usesPkce, true)
  const url = tiktok.authorizationUrl({ state: 'st-1', codeChallenge: 'chal' })
  t.equal(`${url.origin}${url.pathname}`, `${fake.url}/v2/auth/authorize/`)
  t.same(Object.fromEntries(url.searchParams), {
    client_key: fake.clientId,
    scope: 'user.info.basic,video.list',
    response_type: 'code',
    redirect_uri: fake.redirectUri,
    state: 'st-1',
    code_challenge: 'chal',
    code_challenge_method: 'S256'
  })
})

t.test('code exchange with the PKCE verifier, then user info', async (t) => {
  const { fake, tiktok } = await setup(t)
  const { code, codeVerifier } = await authorizedCode(fake, tiktok)
  const grant = await tiktok.exchangeCode({ code, codeVerifier })
  t.same(grant.account, { id: fake.user.id, username: fake.user.username })
  t.equal(grant.expiresAtMs, FIXED_NOW_MS + 7_200_000)
  t.equal(grant.refreshExpiresAtMs, FIXED_NOW_MS + (fake.refreshExpiresInSec ?? 0) * 1000)
  t.same(grant.scopes, ['user.info.basic', 'video.list'])
  t.ok(grant.refreshToken !== undefined && fake.isValid(grant.refreshToken))
  const [exchange] = fake.requestsTo('code')
  t.same(exchange?.form, {
    client_key: fake.clientId,
    client_secret: fake.clientSecret,
    grant_type: 'authorization_code',
    code,
    redirect_uri: fake.redirectUri,
    code_verifier: codeVerifier
  }, 'TikTok\'s form fields, credentials in the body')
  t.equal(exchange?.headers.authorization, undefined, 'no Basic auth')
  const [info] = fake.requestsTo('userinfo')
  t.equal(info?.query.fields, 'open_id,union_id,display_name,username')
  t.equal(info?.headers.authorization, `Bearer ${grant.accessToken}`)
  for (const r of fake.requests.filter((r) => r.endpoint !== 'authorize')) t.equal(r.headers['user-agent'], DEFAULT_USER_AGENT)
})

t.test('a PKCE verifier that does not match the challenge fails the exchange', async (t) => {
  const { fake, tiktok } = await setup(t)
  const { code } = await authorizedCode(fake, tiktok)
  const err = await tiktok.exchangeCode({ code, codeVerifier: randomPKCECodeVerifier() }).catch((e: unknown) => e)
  t.match(err, { code: 'exchange_failed', reason: 'oauth_invalid_request' }, 'TikTok\'s answer to a PKCE mismatch')
  t.same([code, fake.clientSecret].filter((s) => leakText(err).includes(s)), [], 'no code or secret in the error')
  t.equal(fake.requestsTo('userinfo').length, 0, 'no account lookup after a failed exchange')
})

t.test('user info failures', async (t) => {
  const { fake, tiktok } = await setup(t)
  fake.failNext('userinfo', { kind: 'rate_limited', retryAfter: '3' })
  await t.rejects(tiktok.exchangeCode(await authorizedCode(fake, tiktok)), { code: 'provider_unavailable', reason: 'rate_limited' })
  fake.failNext('userinfo', { kind: 'html' })
  await t.rejects(tiktok.exchangeCode(await authorizedCode(fake, tiktok)), { code: 'exchange_failed', reason: 'malformed_response' })
  fake.failNext('code', { kind: 'hang' })
  const slow = platformUnderTest('tiktok', fake.env(), { timeoutMs: 200 })
  await t.rejects(slow.exchangeCode(await authorizedCode(fake, slow)), { code: 'provider_unavailable', reason: 'timeout' })
})

t.test('refresh rotates: the new refresh token is returned, the old one is dead', async (t) => {
  const { fake, tiktok } = await setup(t)
  const seeded = fake.seedGrant()
  const outcome = await tiktok.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
  t.match(outcome, { kind: 'refreshed', grant: { expiresAtMs: FIXED_NOW_MS + 7_200_000, refreshExpiresAtMs: FIXED_NOW_MS + (fake.refreshExpiresInSec ?? 0) * 1000 } })
  if (outcome.kind !== 'refreshed') return
  t.ok(outcome.grant.refreshToken !== undefined && outcome.grant.refreshToken !== seeded.refreshToken)
  t.notOk(fake.isValid(seeded.refreshToken ?? ''))
  const [request] = fake.requestsTo('refresh')
  t.same(request?.form, { client_key: fake.clientId, client_secret: fake.clientSecret, grant_type: 'refresh_token', refresh_token: seeded.refreshToken })
  t.same(await tiktok.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken }), { kind: 'permanent', code: 'invalid_grant' })
  t.equal(fake.timesPresented(seeded.refreshToken ?? ''), 2)
  t.match(await tiktok.refresh({ accessToken: outcome.grant.accessToken, refreshToken: outcome.grant.refreshToken }), { kind: 'refreshed' })
})

t.test('every failure switch gives the contract\'s outcome', async (t) => {
  const { fake, tiktok } = await setup(t, { timeoutMs: 300 })
  const cases: Array<[string, Parameters<typeof fake.failNext>[1], unknown]> = [
    ['500', { kind: 'status', status: 500 }, { kind: 'transient', code: 'http_5xx' }],
    ['429 + Retry-After', { kind: 'rate_limited', retryAfter: '120' }, { kind: 'transient', code: 'rate_limited', retryAfterMs: 120_000 }],
    ['HTML', { kind: 'html' }, { kind: 'transient', code: 'malformed_response' }],
    ['broken JSON', { kind: 'broken_json' }, { kind: 'transient', code: 'malformed_response' }],
    ['hang', { kind: 'hang' }, { kind: 'transient', code: 'timeout' }],
    ['invalid_grant', { kind: 'invalid_grant' }, { kind: 'permanent', code: 'invalid_grant' }],
    ['invalid_grant with HTTP 200', { kind: 'error_in_200', error: 'invalid_grant' }, { kind: 'permanent', code: 'invalid_grant' }],
    ['invalid_client', { kind: 'oauth_error', error: 'invalid_client', status: 401 }, { kind: 'permanent', code: 'invalid_client' }],
    ['server_error 500', { kind: 'oauth_error', error: 'server_error', status: 500 }, { kind: 'transient', code: 'server_error' }],
    ['temporarily_unavailable', { kind: 'oauth_error', error: 'temporarily_unavailable', status: 503 }, { kind: 'transient', code: 'temporarily_unavailable' }],
    ['invalid_scope', { kind: 'oauth_error', error: 'invalid_scope' }, { kind: 'transient', code: 'oauth_invalid_scope' }]
  ]
  for (const [name, fault, expected] of cases) {
    const seeded = fake.seedGrant()
    fake.failNext('refresh', fault)
    const outcome = await tiktok.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
    t.same(outcome, expected, name)
    t.same([fake.clientSecret, seeded.accessToken, seeded.refreshToken ?? ''].filter((s) => leakText(outcome).includes(s)), [], `${name}: no secret`)
    if (fault.kind !== 'invalid_grant' && fault.kind !== 'error_in_200' && fault.kind !== 'oauth_error') {
      t.ok(fake.isValid(seeded.refreshToken ?? ''), `${name}: the refresh token was not consumed`)
    }
  }
})

t.test('a negative expires_in still returns the rotated refresh token (never dropped)', async (t) => {
  const { fake, tiktok } = await setup(t)
  const seeded = fake.seedGrant()
  fake.failNext('refresh', { kind: 'expires_in', value: -1 })
  const outcome = await tiktok.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
  t.match(outcome, { kind: 'refreshed', warning: 'invalid_expires_in', grant: { expiresAtMs: FIXED_NOW_MS } })
  if (outcome.kind === 'refreshed') t.ok(outcome.grant.refreshToken !== undefined && fake.isValid(outcome.grant.refreshToken), 'the rotated token is the live one')
  t.notOk(fake.isValid(seeded.refreshToken ?? ''), 'the presented one is dead: losing the answer would lose the account')
})

t.test('revoke sends the access token with the client credentials', async (t) => {
  const { fake, tiktok } = await setup(t)
  const seeded = fake.seedGrant()
  t.equal(await tiktok.revoke({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken }), true)
  const [request] = fake.requestsTo('revoke')
  t.same(request?.form, { client_key: fake.clientId, client_secret: fake.clientSecret, token: seeded.accessToken })
  t.notOk(fake.isValid(seeded.refreshToken ?? ''), 'the grant is gone')
  t.equal(await tiktok.revoke({ accessToken: 'unknown-token' }), false, 'an error body answers false')
  fake.failNext('revoke', { kind: 'status', status: 503 })
  t.equal(await tiktok.revoke({ accessToken: 'x' }), false)
})
