// Reddit's module against the fake Reddit: authorize parameters, raw Basic auth, exchange, account,
// refresh with and without rotation, every failure switch, revocation, and no secret in any error.
import { Buffer } from 'node:buffer'
import t, { type Test } from 'tap'
import { ClientSecretBasic } from 'openid-client'
import { loadConfig } from '../../src/config.js'
import { tokenGrant, wireClientAuth } from '../../src/platforms/oauth-client.js'
import { ProviderError } from '../../src/platforms/oauth-errors.js'
import { createProviderHttp, DEFAULT_USER_AGENT } from '../../src/platforms/provider-http.js'
import { REDDIT_WIRE } from '../../src/platforms/reddit.js'
import { testEnv } from '../helper.js'
import { RedditFake } from '../fakes/reddit.js'
import { FIXED_NOW_MS, leakText, platformUnderTest } from '../fakes/platform-under-test.js'

async function setup (tt: Test, options: { rotate?: boolean, timeoutMs?: number } = {}) {
  const fake = await RedditFake.start(tt, { rotate: options.rotate ?? false })
  const reddit = platformUnderTest('reddit', fake.env(), {
    timeoutMs: options.timeoutMs ?? 2_000,
    env: { REDDIT_SCOPES: 'identity,read' }
  })
  return { fake, reddit }
}

t.test('authorize URL carries exactly Reddit\'s parameters', async (t) => {
  const { fake, reddit } = await setup(t)
  const url = reddit.authorizationUrl({ state: 'st-123' })
  t.equal(`${url.origin}${url.pathname}`, `${fake.url}/api/v1/authorize`)
  t.same(Object.fromEntries(url.searchParams), {
    client_id: fake.clientId,
    response_type: 'code',
    duration: 'permanent',
    state: 'st-123',
    redirect_uri: fake.redirectUri,
    scope: 'identity read'
  })
  t.equal(reddit.usesPkce, false)
})

t.test('code exchange: raw Basic auth, form body, account lookup, lifetimes from expires_in', async (t) => {
  const { fake, reddit } = await setup(t)
  const back = await fake.authorize(reddit.authorizationUrl({ state: 's1' }))
  t.equal(back.searchParams.get('state'), 's1')
  const code = back.searchParams.get('code') ?? ''
  const grant = await reddit.exchangeCode({ code })
  t.same(grant.account, { id: fake.user.id, username: fake.user.username })
  t.ok(grant.refreshToken !== undefined && fake.isValid(grant.refreshToken), 'permanent grant has a valid refresh token')
  t.equal(grant.expiresAtMs, FIXED_NOW_MS + 86_400_000)
  t.same(grant.scopes, ['identity', 'read'])

  const [exchange] = fake.requestsTo('code')
  t.equal(exchange?.headers.authorization, fake.expectedBasic(), 'raw id:secret, not form-encoded')
  t.match(fake.clientId, /[-_]/, 'the client id has the characters form-encoding would change')
  const encoded = `Basic ${Buffer.from(`${encodeURIComponent(fake.clientId).replaceAll('-', '%2D').replaceAll('_', '%5F')}:${fake.clientSecret}`).toString('base64')}`
  t.not(exchange?.headers.authorization, encoded)
  t.same(exchange?.form, { grant_type: 'authorization_code', code, redirect_uri: fake.redirectUri })
  const [me] = fake.requestsTo('userinfo')
  t.equal(me?.headers.authorization, `Bearer ${grant.accessToken}`)
  for (const request of fake.requests.filter((r) => r.endpoint !== 'authorize')) {
    t.equal(request.headers['user-agent'], DEFAULT_USER_AGENT, `User-Agent on ${request.endpoint}`)
  }
})

t.test('a reused code fails the exchange with exchange_failed', async (t) => {
  const { fake, reddit } = await setup(t)
  const code = (await fake.authorize(reddit.authorizationUrl({ state: 's' }))).searchParams.get('code') ?? ''
  await reddit.exchangeCode({ code })
  const err = await reddit.exchangeCode({ code }).catch((e: unknown) => e)
  t.type(err, ProviderError)
  t.match(err, { code: 'exchange_failed', reason: 'invalid_grant' })
  t.notOk(leakText(err).includes(code), 'the code is not in the error')
})

t.test('a code without duration=permanent (no refresh token) is refused', async (t) => {
  const { fake, reddit } = await setup(t)
  const url = reddit.authorizationUrl({ state: 's' })
  url.searchParams.set('duration', 'temporary')
  const code = (await fake.authorize(url)).searchParams.get('code') ?? ''
  await t.rejects(reddit.exchangeCode({ code }), { code: 'exchange_failed', reason: 'missing_refresh_token' })
})

t.test('the user denying access comes back as error=access_denied', async (t) => {
  const { fake, reddit } = await setup(t)
  fake.denyNext = 1
  const back = await fake.authorize(reddit.authorizationUrl({ state: 's9' }))
  t.equal(back.searchParams.get('error'), 'access_denied')
  t.equal(back.searchParams.get('state'), 's9')
  t.equal(back.searchParams.get('code'), null)
})

t.test('account lookup failures', async (t) => {
  const { fake, reddit } = await setup(t)
  const code = async () => (await fake.authorize(reddit.authorizationUrl({ state: 's' }))).searchParams.get('code') ?? ''
  fake.failNext('userinfo', { kind: 'status', status: 503 })
  await t.rejects(reddit.exchangeCode({ code: await code() }), { code: 'provider_unavailable', reason: 'http_5xx' })
  fake.failNext('userinfo', { kind: 'broken_json' })
  await t.rejects(reddit.exchangeCode({ code: await code() }), { code: 'exchange_failed', reason: 'malformed_response' })
  fake.failNext('code', { kind: 'status', status: 502 })
  await t.rejects(reddit.exchangeCode({ code: await code() }), { code: 'provider_unavailable', reason: 'http_5xx' })
})

t.test('refresh without rotation keeps the refresh token (answer has none)', async (t) => {
  const { fake, reddit } = await setup(t)
  const seeded = fake.seedGrant()
  const outcome = await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
  t.equal(outcome.kind, 'refreshed')
  if (outcome.kind !== 'refreshed') return
  t.equal(outcome.grant.refreshToken, undefined, 'no refresh token in the answer: the store keeps the old one')
  t.not(outcome.grant.accessToken, seeded.accessToken)
  t.equal(outcome.grant.expiresAtMs, FIXED_NOW_MS + 86_400_000)
  t.equal(outcome.warning, undefined)
  t.ok(fake.isValid(seeded.refreshToken ?? ''), 'the old refresh token still works')
  const [request] = fake.requestsTo('refresh')
  t.same(request?.form, { grant_type: 'refresh_token', refresh_token: seeded.refreshToken })
  t.equal(request?.headers.authorization, fake.expectedBasic())
})

t.test('refresh with rotation returns the new refresh token; the old one is then invalid_grant', async (t) => {
  const { fake, reddit } = await setup(t, { rotate: true })
  const seeded = fake.seedGrant()
  const outcome = await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
  t.equal(outcome.kind, 'refreshed')
  if (outcome.kind !== 'refreshed') return
  t.ok(outcome.grant.refreshToken !== undefined && outcome.grant.refreshToken !== seeded.refreshToken)
  t.same(await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken }), { kind: 'permanent', code: 'invalid_grant' })
  t.equal(fake.timesPresented(seeded.refreshToken ?? ''), 2)
})

t.test('every failure switch gives the contract\'s outcome', async (t) => {
  const { fake, reddit } = await setup(t, { rotate: true, timeoutMs: 300 })
  const cases: Array<[string, Parameters<typeof fake.failNext>[1], unknown]> = [
    ['500', { kind: 'status', status: 500 }, { kind: 'transient', code: 'http_5xx' }],
    ['429 + Retry-After seconds', { kind: 'rate_limited', retryAfter: '7' }, { kind: 'transient', code: 'rate_limited', retryAfterMs: 7000 }],
    ['429 + Retry-After HTTP-date', { kind: 'rate_limited', retryAfter: new Date(FIXED_NOW_MS + 90_000).toUTCString() }, { kind: 'transient', code: 'rate_limited', retryAfterMs: 90_000 }],
    ['429 without Retry-After', { kind: 'rate_limited' }, { kind: 'transient', code: 'rate_limited' }],
    ['HTML', { kind: 'html' }, { kind: 'transient', code: 'malformed_response' }],
    ['HTML 502', { kind: 'html', status: 502 }, { kind: 'transient', code: 'http_5xx' }],
    ['broken JSON', { kind: 'broken_json' }, { kind: 'transient', code: 'malformed_response' }],
    ['hang', { kind: 'hang' }, { kind: 'transient', code: 'timeout' }],
    ['invalid_grant', { kind: 'invalid_grant' }, { kind: 'permanent', code: 'invalid_grant' }],
    ['invalid_grant in a 200 body', { kind: 'error_in_200', error: 'invalid_grant' }, { kind: 'permanent', code: 'invalid_grant' }],
    ['server_error in a 200 body', { kind: 'error_in_200', error: 'server_error' }, { kind: 'transient', code: 'server_error' }],
    ['temporarily_unavailable 503', { kind: 'oauth_error', error: 'temporarily_unavailable', status: 503 }, { kind: 'transient', code: 'temporarily_unavailable' }],
    ['invalid_client', { kind: 'oauth_error', error: 'invalid_client', status: 401 }, { kind: 'permanent', code: 'invalid_client' }],
    ['unauthorized_client', { kind: 'oauth_error', error: 'unauthorized_client' }, { kind: 'permanent', code: 'unauthorized_client' }],
    ['an unknown OAuth error', { kind: 'oauth_error', error: 'invalid_request' }, { kind: 'transient', code: 'oauth_invalid_request' }]
  ]
  const secrets = [fake.clientSecret]
  for (const [name, fault, expected] of cases) {
    const seeded = fake.seedGrant()
    secrets.push(seeded.accessToken, seeded.refreshToken ?? '')
    fake.failNext('refresh', fault)
    const started = Date.now()
    const outcome = await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
    t.same(outcome, expected, name)
    if (fault.kind === 'hang') t.ok(Date.now() - started < 5_000, 'the timeout ended the hung call')
    t.same(secrets.filter((secret) => leakText(outcome).includes(secret)), [], `${name}: no secret in the outcome`)
  }
})

t.test('a non-positive, missing or non-numeric expires_in keeps the rotated tokens, expiring now', async (t) => {
  const { fake, reddit } = await setup(t, { rotate: true })
  for (const value of [-5, 0, undefined, 'soon']) {
    const seeded = fake.seedGrant()
    fake.failNext('refresh', { kind: 'expires_in', value })
    const outcome = await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken })
    t.match(outcome, { kind: 'refreshed', warning: 'invalid_expires_in', grant: { expiresAtMs: FIXED_NOW_MS } }, `expires_in ${String(value)}`)
    if (outcome.kind === 'refreshed') t.ok(outcome.grant.refreshToken !== undefined && fake.isValid(outcome.grant.refreshToken), 'rotated token kept')
  }
  const seeded = fake.seedGrant()
  fake.failNext('refresh', { kind: 'expires_in', value: '3600' })
  t.match(await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken }), { kind: 'refreshed', grant: { expiresAtMs: FIXED_NOW_MS + 3_600_000 } })
})

t.test('a wrong client secret (HTTP 401, no OAuth body) never marks the token dead', async (t) => {
  const { fake } = await setup(t)
  const reddit = platformUnderTest('reddit', { ...fake.env(), REDDIT_CLIENT_SECRET: 'not-the-secret' })
  const seeded = fake.seedGrant()
  t.same(await reddit.refresh({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken }), { kind: 'transient', code: 'http_4xx' })
})

t.test('an unreachable provider is a transient network failure', async (t) => {
  const fake = new RedditFake()
  await fake.listen()
  const env = fake.env()
  await fake.close()
  const reddit = platformUnderTest('reddit', env)
  t.same(await reddit.refresh({ accessToken: 'a', refreshToken: 'r' }), { kind: 'transient', code: 'network' })
  await t.rejects(reddit.exchangeCode({ code: 'c' }), { code: 'provider_unavailable', reason: 'network' })
})

t.test('a token without a refresh token cannot be refreshed', async (t) => {
  const { reddit } = await setup(t)
  t.same(await reddit.refresh({ accessToken: 'a' }), { kind: 'permanent', code: 'missing_refresh_token' })
})

t.test('revoke sends the refresh token with Basic auth; failures answer false', async (t) => {
  const { fake, reddit } = await setup(t, { timeoutMs: 300 })
  const seeded = fake.seedGrant()
  t.equal(await reddit.revoke({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken }), true)
  t.notOk(fake.isValid(seeded.refreshToken ?? ''), 'the grant is revoked at the provider')
  t.notOk(fake.isValid(seeded.accessToken), 'its access token too')
  const [request] = fake.requestsTo('revoke')
  t.same(request?.form, { token: seeded.refreshToken, token_type_hint: 'refresh_token' })
  t.equal(request?.headers.authorization, fake.expectedBasic())
  fake.failNext('revoke', { kind: 'status', status: 500 })
  t.equal(await reddit.revoke({ accessToken: 'a', refreshToken: 'r' }), false)
  fake.failNext('revoke', { kind: 'hang' })
  t.equal(await reddit.revoke({ accessToken: 'a', refreshToken: 'r' }), false)
})

t.test('regression: openid-client\'s stock ClientSecretBasic form-encodes `-`/`_` in the id, which Reddit refuses', async (t) => {
  const fake = await RedditFake.start(t)
  const config = loadConfig(testEnv(fake.env())).platforms.reddit
  const http = createProviderHttp({ timeoutMs: 2_000 })
  const seeded = fake.seedGrant()
  const stock = await tokenGrant({ config, http, clientAuth: ClientSecretBasic(fake.clientSecret) }, config.urls.refresh, 'refresh_token', { refresh_token: seeded.refreshToken ?? '' })
  t.same(stock, { kind: 'transient', code: 'http_4xx' }, 'the encoded header is a 401 (and never a needs_reauth)')
  t.match(fake.requestsTo('refresh')[0]?.headers.authorization, /^Basic /)
  t.not(fake.requestsTo('refresh')[0]?.headers.authorization, fake.expectedBasic())
  const raw = await tokenGrant({ config, http, clientAuth: wireClientAuth(REDDIT_WIRE, config.clientId, config.clientSecret) }, config.urls.refresh, 'refresh_token', { refresh_token: seeded.refreshToken ?? '' })
  t.equal(raw.kind, 'refreshed')
})
