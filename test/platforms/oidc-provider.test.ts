// Against an authorization server nobody here wrote: panva's oidc-provider (certified OpenID
// Provider), run in this test with PKCE required and refresh-token rotation on. A platform module of
// the same kind as the others (a spec, its wire, defineCodeGrantPlatform) points at it. The user
// connects through the provider's own login and consent pages (driven over HTTP); then two service
// instances on one table refresh the connection under repeated cron calls and concurrent internal
// reads (force=true, and a minimum TTL longer than the token's life so every read wants a refresh).
// oidc-provider destroys the whole grant when a rotated refresh token is presented again ("refresh
// token already used"), so the grant surviving, and the provider never refusing a refresh, is proof
// from outside our fakes that no refresh token was presented twice.
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:http'
import Provider from 'oidc-provider'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { defineCodeGrantPlatform } from '../../src/platforms/define-platform.js'
import { revokeToken } from '../../src/platforms/oauth-client.js'
import { HOUR_MS, type PlatformSpec } from '../../src/platforms/platform.js'
import { PLATFORM_MODULES } from '../../src/platforms/registry.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import type { CodeGrantWire } from '../../src/platforms/wire.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { buildApp, createTestTable, testEnv } from '../helper.js'
import { Browser, callback, startFlow } from '../helpers/connect-flow.js'

const REDIRECT_URI = 'https://app.example.test/api/auth/oidc/callback'
const CLIENT = { id: 'refresherclient01', secret: 'refresherSecret0123456789abcdef0123' }
const CRON = { 'x-cron-secret': 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc' }
const INTERNAL = { authorization: 'Bearer internal-7NwK3qZt8VbR1xMf5LyP2hGd9sJ' }

// The provider, on a free port: its issuer is its origin.
const server = createServer()
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const refreshErrors: string[] = []
const revokedGrants: string[] = []
let refreshes = 0
const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic'
  }],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  pkce: { required: () => true },
  rotateRefreshToken: true,
  scopes: ['openid', 'offline_access'],
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  cookies: { keys: ['oidc-test-cookie-key-0123456789abcdef'] },
  ttl: { AccessToken: 600, IdToken: 600, AuthorizationCode: 60, RefreshToken: 86_400, Grant: 86_400, Session: 86_400, Interaction: 600 }
})
provider.on('grant.success', (ctx) => { if (ctx.oidc.params?.grant_type === 'refresh_token') refreshes++ })
provider.on('grant.error', (ctx, err) => { if (ctx.oidc.params?.grant_type === 'refresh_token') refreshErrors.push(String((err as { error?: string }).error ?? err.message)) })
provider.on('grant.revoked', (_ctx, grantId) => { revokedGrants.push(grantId) })
server.on('request', provider.callback())
t.teardown(() => { server.closeAllConnections(); server.close() })

const oidcSpec = {
  name: 'oidc',
  envPrefix: 'OIDC',
  clientIdVar: 'OIDC_CLIENT_ID',
  defaultUrls: { authorize: `${issuer}/auth`, token: `${issuer}/token`, refresh: `${issuer}/token`, revoke: `${issuer}/token/revocation`, userinfo: `${issuer}/me` },
  defaultScopes: ['openid', 'offline_access'],
  defaultRefreshWindowMs: 2 * HOUR_MS,
  defaultRefreshConcurrency: 2
} satisfies PlatformSpec

const OIDC_WIRE = {
  clientIdParam: 'client_id',
  scopeSeparator: ' ',
  // offline_access is honoured only with prompt=consent (OpenID Connect Core §11).
  authorizeParams: { prompt: 'consent' },
  pkce: true,
  clientAuth: 'basic'
} as const satisfies CodeGrantWire

const oidcModule = defineCodeGrantPlatform({
  spec: oidcSpec,
  wire: OIDC_WIRE,
  simulation: {
    tokenPrefix: 'oidc',
    user: () => ({ id: 'oidc-user', username: 'oidc-user' }),
    expiresInSec: 600,
    rotates: true,
    tokenType: 'Bearer',
    errorBody: (error) => ({ error }),
    invalidClient: () => ({ status: 401, json: { error: 'invalid_client' } }),
    userinfo: (user) => ({ sub: user.id }),
    userinfoRefused: () => ({ status: 401, json: { error: 'invalid_token' } }),
    revokedStatus: 200
  },
  account: {
    url: (config) => config.urls.userinfo,
    pick: (body) => typeof body.sub === 'string' ? { id: body.sub, username: undefined } : undefined
  },
  revoke: async (oauth, url, { accessToken, refreshToken }) => await revokeToken(oauth, url, refreshToken ?? accessToken)
})

const modules = [...PLATFORM_MODULES, oidcModule]
const table = await createTestTable(t, 'oidc')
const identity = await startJwksIssuer()
t.teardown(() => identity.close())
const config = loadConfig(testEnv({
  TOKENS_TABLE: table.name,
  ...identity.env,
  OIDC_CLIENT_ID: CLIENT.id,
  OIDC_CLIENT_SECRET: CLIENT.secret,
  OIDC_REDIRECT_URI: REDIRECT_URI,
  // Every read wants a refresh: the minimum TTL is longer than the token's life, and force has no cooldown.
  TOKEN_MIN_TTL_MS: String(2 * HOUR_MS),
  INTERNAL_FORCE_COOLDOWN_MS: '0'
}), { platforms: modules.map((m) => m.spec) })
// Two instances of the service on one table.
const appA = await buildApp(t, { config, dynamo: table.dynamo, platformModules: modules })
const appB = await buildApp(t, { config, dynamo: table.dynamo, platformModules: modules })
// The table as the instances see it (read directly, not through either of them).
const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys) })

/** A browser's cookie jar for the provider's origin (its interaction and session cookies). */
class Jar {
  readonly #cookies = new Map<string, string>()
  header (): string { return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
  take (response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const eq = pair.indexOf('=')
      this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
    }
  }
}

/** Through the provider's own login and consent pages, as a browser: the redirect back to the service. */
async function signInAtProvider (authorizeUrl: string, login: string): Promise<URL> {
  const jar = new Jar()
  let next: { url: string, init: RequestInit } = { url: authorizeUrl, init: {} }
  for (let step = 0; step < 12; step++) {
    const response = await fetch(next.url, { ...next.init, redirect: 'manual', headers: { ...(next.init.headers as Record<string, string> | undefined), cookie: jar.header() } })
    jar.take(response)
    const location = response.headers.get('location')
    if (location !== null) {
      await response.arrayBuffer()
      const target = new URL(location, next.url)
      if (target.href.startsWith(REDIRECT_URI)) return target
      next = { url: target.href, init: {} }
      continue
    }
    const html = await response.text()
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1]
    if (response.status !== 200 || action === undefined || prompt === undefined) throw new Error(`the provider answered ${response.status} without a form`)
    const form = new URLSearchParams({ prompt, ...(prompt === 'login' ? { login, password: 'any' } : {}) })
    next = { url: new URL(action, next.url).href, init: { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } }
  }
  throw new Error('the provider never redirected back')
}

const userId = 'oidc-service-user'
const key = { userId, platform: 'oidc' }
let firstRefreshToken = ''

t.test('connect through oidc-provider\'s own login and consent', async (t) => {
  const browser = new Browser({ bearer: await identity.accessToken({ sub: userId }) })
  const { authorizeUrl } = await startFlow(appA, browser, 'oidc')
  const url = new URL(authorizeUrl)
  t.equal(url.searchParams.get('code_challenge_method'), 'S256', 'PKCE')
  const back = await signInAtProvider(String(authorizeUrl), 'alice')
  t.ok(back.searchParams.get('code'), 'the provider issued a code')
  const res = await callback(appA, browser, back)
  t.equal(res.headers.location, 'https://app.example.test/settings/integrations?connected=oidc')
  const record = await store.get(key)
  t.equal(record?.status, 'connected')
  t.equal(record?.account?.id, 'alice', 'the account the provider signed in')
  firstRefreshToken = record === undefined ? '' : store.openSecrets(record).refreshToken ?? ''
  t.not(firstRefreshToken, '', 'with a refresh token')
})

t.test('two instances, repeated crons and concurrent internal reads: the rotating grant survives', async (t) => {
  const internal = (app: typeof appA, force: boolean): Promise<{ statusCode: number }> =>
    app.inject({ method: 'GET', url: `/api/internal/tokens/${userId}/oidc${force ? '?force=true' : ''}`, headers: INTERNAL })
  const cron = (app: typeof appA): Promise<{ statusCode: number }> => app.inject({ method: 'GET', url: '/api/cron/refresh-oauth?wait=true', headers: CRON })
  const statuses: number[] = []
  for (let round = 0; round < 6; round++) {
    const answers = await Promise.all([cron(appA), cron(appB), internal(appA, true), internal(appB, true), internal(appA, false), internal(appB, false)])
    statuses.push(...answers.map((a) => a.statusCode))
  }
  t.ok(refreshes >= 6, `the provider granted ${refreshes} refreshes (rotation each time)`)
  t.same(refreshErrors, [], 'the provider never refused a refresh (a refresh token presented twice is invalid_grant)')
  t.same(revokedGrants, [], 'the provider revoked no grant')
  t.ok(statuses.every((s) => s === 200 || s === 202), `every call answered: ${[...new Set(statuses)].join(', ')}`)
  const record = await store.get(key)
  t.equal(record?.status, 'connected', 'still connected')
  const last = await appB.inject({ method: 'GET', url: `/api/internal/tokens/${userId}/oidc?force=true`, headers: INTERNAL })
  t.equal(last.statusCode, 200)
  const me = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${String(last.json().accessToken)}` } })
  t.equal(me.status, 200, 'the provider accepts the token handed out last: the grant is alive')
  t.same(await me.json(), { sub: 'alice' })
})

t.test('the check can fail: a spent refresh token presented again is refused and the grant revoked', async (t) => {
  const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`
  const again = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: firstRefreshToken }).toString()
  })
  t.equal(again.status, 400)
  t.match(await again.json(), { error: 'invalid_grant' })
  t.equal(revokedGrants.length, 1, 'the provider revoked the whole grant')
  const latest = await store.get(key)
  const token = latest === undefined ? '' : store.openSecrets(latest).accessToken
  t.equal((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'the service\'s current token is dead with it')
})
