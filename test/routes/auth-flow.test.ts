// One walk per platform through the fake providers, as the runbook's post-deploy checks do it:
// start → the provider's authorize step (a real HTTP request to the fake) → callback → status → disconnect.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { PlatformName } from '../../src/platforms/registry.js'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { InstagramFake } from '../fakes/instagram.js'
import { startJwksIssuer, type JwksIssuer } from '../fakes/jwks-issuer.js'
import type { OAuthFake } from '../fakes/oauth-fake.js'
import { RedditFake } from '../fakes/reddit.js'
import { ThreadsFake } from '../fakes/threads.js'
import { TiktokFake } from '../fakes/tiktok.js'
import { buildApp, createTestTable, LogCapture } from '../helper.js'
import { Browser, callback, startFlow } from '../helpers/connect-flow.js'

const APP_URL = 'https://app.example.test'
const issuer = await startJwksIssuer()
t.teardown(() => issuer.close())
const table = await createTestTable(t, 'auth-flow')
const fakes = {
  instagram: await InstagramFake.start(t),
  tiktok: await TiktokFake.start(t),
  reddit: await RedditFake.start(t),
  threads: await ThreadsFake.start(t)
} satisfies Record<PlatformName, OAuthFake>
const ENCRYPTION_KEY = generateEncryptionKey('k1')
const tokens = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(parseEncryptionKeys(ENCRYPTION_KEY)) })
const logs = new LogCapture()
const app: FastifyInstance = await buildApp(t, {
  env: {
    TOKENS_TABLE: table.name,
    TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY,
    APP_URL,
    ...issuer.env,
    ...fakes.instagram.env(),
    ...fakes.tiktok.env(),
    ...fakes.reddit.env(),
    ...fakes.threads.env()
  },
  dynamo: table.dynamo,
  logs
})
const canaries = new Set<string>(Object.values(fakes).map((f) => f.clientSecret))
const remember = (...values: Array<string | null | undefined>): void => {
  for (const v of values) if (typeof v === 'string' && v !== '') canaries.add(v)
}

async function browserFor (jwks: JwksIssuer, userId: string, via: 'bearer' | 'cookies'): Promise<Browser> {
  const jwt = await jwks.accessToken({ sub: userId })
  remember(jwt)
  return via === 'bearer' ? new Browser({ bearer: jwt }) : new Browser({ cookieHeader: jwks.amplifyCookies({ accessToken: jwt, idToken: await jwks.idToken({ sub: userId }) }, userId) })
}

/** start → fake authorize → callback; answers the callback's Location. */
async function connect (browser: Browser, platform: PlatformName, returnTo?: string): Promise<string> {
  const { state, authorizeUrl } = await startFlow(app, browser, platform, returnTo)
  const back = await fakes[platform].authorize(authorizeUrl)
  remember(state, back.searchParams.get('code'), browser.jar.get(`oauth_flow_${platform}`))
  const res = await callback(app, browser, back)
  if (res.statusCode !== 302) throw new Error(`callback answered ${res.statusCode}`)
  return String(res.headers.location)
}

async function walk (t: Test, platform: PlatformName, expectRevoked: boolean): Promise<void> {
  const fake = fakes[platform]
  const userId = `walker-${platform}`
  const browser = await browserFor(issuer, userId, platform === 'reddit' ? 'bearer' : 'cookies')
  t.equal(await connect(browser, platform, '/settings/integrations'), `${APP_URL}/settings/integrations?connected=${platform}`)

  const [record] = await tokens.listByUser(userId)
  t.match(record, { platform, status: 'connected', account: { id: fake.user.id, username: fake.user.username } })
  if (record === undefined) return
  const secrets = tokens.openSecrets(record)
  remember(secrets.accessToken, secrets.refreshToken)
  t.ok(fake.isValid(secrets.accessToken), 'the stored access token is the one the provider issued')

  const res = await browser.get(app, '/api/platforms/status')
  t.equal(res.statusCode, 200)
  const status = res.json().platforms[platform]
  t.match(status, { status: 'connected', account: { id: fake.user.id, username: fake.user.username } })
  t.match(status.expiresAt, /^\d{4}-\d{2}-\d{2}T/)
  for (const value of Object.values(secrets)) if (value !== undefined) t.notOk(res.body.includes(value), 'no token in the status')

  const revokes = fake.requestsTo('revoke').length
  const del = await browser.request(app, 'DELETE', `/api/platforms/${platform}`)
  t.equal(del.statusCode, 200)
  t.same(del.json(), { ok: true, revoked: expectRevoked })
  t.equal(fake.requestsTo('revoke').length, revokes + (expectRevoked ? 1 : 0), 'revocation seen by the fake')
  if (expectRevoked) t.notOk(fake.isValid(secrets.accessToken), 'the provider no longer honours the token')
  t.equal((await browser.get(app, '/api/platforms/status')).json().platforms[platform].status, 'not_connected')
}

t.test('Instagram: code → long-lived token → account; no revocation endpoint', async (t) => {
  await walk(t, 'instagram', false)
  t.equal(fakes.instagram.requestsTo('exchange').length, 1, 'the short-lived token was exchanged for a long-lived one')
})

t.test('Threads: code → long-lived token (th_exchange_token) → account from /v1.0/me; no revocation endpoint', async (t) => {
  await walk(t, 'threads', false)
  t.equal(fakes.threads.requestsTo('exchange').length, 1, 'the short-lived token was exchanged for a long-lived one')
  t.equal(fakes.threads.requestsTo('exchange')[0]?.query.grant_type, 'th_exchange_token')
})

t.test('Instagram: the {data:[…]} code-exchange shape too', async (t) => {
  fakes.instagram.codeShape = 'data'
  t.teardown(() => { fakes.instagram.codeShape = 'flat' })
  const browser = await browserFor(issuer, 'ig-data-user', 'bearer')
  t.equal(await connect(browser, 'instagram'), `${APP_URL}/settings/integrations?connected=instagram`)
  t.match(await tokens.get({ userId: 'ig-data-user', platform: 'instagram' }), { status: 'connected', account: { id: fakes.instagram.user.id } })
})

t.test('TikTok with PKCE: the fake checks the verifier against the challenge', async (t) => {
  await walk(t, 'tiktok', true)
  const [exchange] = fakes.tiktok.requestsTo('code').slice(-1)
  t.match(exchange?.form.code_verifier, /^[A-Za-z0-9_-]{43}$/)
  remember(exchange?.form.code_verifier)
  t.equal(exchange?.form.client_key, fakes.tiktok.clientId)
})

t.test('Reddit with duration=permanent: a refresh token is stored', async (t) => {
  const browser = await browserFor(issuer, 'reddit-refresh', 'bearer')
  await connect(browser, 'reddit')
  t.match(await tokens.get({ userId: 'reddit-refresh', platform: 'reddit' }), { hasRefreshToken: true })
  await walk(t, 'reddit', true)
})

t.test('PKCE verifier mismatch at the provider: a code from another flow is refused, nothing stored', async (t) => {
  const browser = await browserFor(issuer, 'pkce-victim', 'bearer')
  const attacker = await browserFor(issuer, 'pkce-attacker', 'bearer')
  const stolen = await fakes.tiktok.authorize((await startFlow(app, attacker, 'tiktok')).authorizeUrl)
  const victim = await startFlow(app, browser, 'tiktok')
  await fakes.tiktok.authorize(victim.authorizeUrl)
  remember(victim.state, stolen.searchParams.get('code'))
  const injected = new URL(`${APP_URL}/api/auth/tiktok/callback`)
  injected.searchParams.set('code', stolen.searchParams.get('code') ?? '')
  injected.searchParams.set('state', victim.state)
  const res = await callback(app, browser, injected)
  t.equal(res.headers.location, `${APP_URL}/settings/integrations?error=exchange_failed&platform=tiktok`)
  t.same(await tokens.listByUser('pkce-victim'), [])
  t.same(await tokens.listByUser('pkce-attacker'), [])
})

t.test('reconnecting replaces the old tokens and clears needs_reauth', async (t) => {
  const browser = await browserFor(issuer, 'reconnector', 'bearer')
  await connect(browser, 'reddit')
  const first = await tokens.get({ userId: 'reconnector', platform: 'reddit' })
  if (first === undefined) throw new Error('first connection missing')
  t.ok((await tokens.claim(first, 'c1', 30_000)).claimed)
  t.ok((await tokens.markNeedsReauth(first, 'c1', 'invalid_grant', 30)).written)
  t.equal((await browser.get(app, '/api/platforms/status')).json().platforms.reddit.status, 'needs_reauth')
  await connect(browser, 'reddit')
  const second = await tokens.get({ userId: 'reconnector', platform: 'reddit' })
  t.match(second, { status: 'connected', version: first.version + 2 })
  t.equal(second?.ttlSec, undefined, 'no purge TTL left on a live connection')
  t.not(second === undefined ? '' : tokens.openSecrets(second).accessToken, tokens.openSecrets(first).accessToken)
  t.equal((await tokens.listByUser('reconnector')).length, 1)
})

t.test('no token, code, state, verifier, cookie, JWT or client secret in any log line', async (t) => {
  t.ok(canaries.size > 20)
  for (const canary of canaries) t.notOk(logs.text.includes(canary), `canary ${canary.slice(0, 6)}… absent`)
})
