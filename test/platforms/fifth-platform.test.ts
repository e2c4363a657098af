// A fifth platform, defined in this file alone (a spec, its wire and what its provider answers), served
// by the real service with no other change: the sandbox plays its provider from the module, the
// configuration reads its variables from the spec, and the service connects it through the sandbox's
// consent page, refreshes it from the cron, hands its token out on the internal route and disconnects
// it (revoking at the provider). Adding a platform is one module and one registry line.
import t from 'tap'
import { defineCodeGrantPlatform } from '../../src/platforms/define-platform.js'
import { revokeToken } from '../../src/platforms/oauth-client.js'
import { HOUR_MS, MINUTE_MS, type PlatformSpec } from '../../src/platforms/platform.js'
import { PLATFORM_MODULES } from '../../src/platforms/registry.js'
import type { CodeGrantWire } from '../../src/platforms/wire.js'
import { LogCapture } from '../helper.js'
import { APP_URL, cronRun, signedInBrowser, startSandboxedService, walkConsent } from '../helpers/sandbox.js'

const acmeSpec = {
  name: 'acme',
  envPrefix: 'ACME',
  clientIdVar: 'ACME_APP_ID',
  defaultUrls: {
    authorize: 'https://login.acme.example/oauth2/authorize',
    token: 'https://login.acme.example/oauth2/token',
    refresh: 'https://login.acme.example/oauth2/token',
    revoke: 'https://login.acme.example/oauth2/revoke',
    userinfo: 'https://api.acme.example/v3/me'
  },
  defaultScopes: ['profile', 'offline'],
  defaultRefreshWindowMs: 20 * MINUTE_MS,
  defaultRefreshConcurrency: 2
} as const satisfies PlatformSpec

const ACME_WIRE = {
  clientIdParam: 'client_id',
  scopeSeparator: ' ',
  pkce: true,
  clientAuth: 'basic'
} as const satisfies CodeGrantWire

const acmeModule = defineCodeGrantPlatform({
  spec: acmeSpec,
  wire: ACME_WIRE,
  simulation: {
    tokenPrefix: 'acme',
    user: () => ({ id: 'acme-user-42', username: 'wile.e' }),
    expiresInSec: 3_600,
    rotates: true,
    tokenType: 'Bearer',
    errorBody: (error) => ({ error, error_description: `acme: ${error}` }),
    invalidClient: () => ({ status: 401, json: { error: 'invalid_client' } }),
    userinfo: (user) => ({ sub: user.id, preferred_username: user.username }),
    userinfoRefused: () => ({ status: 401, json: { error: 'invalid_token' } }),
    revokedStatus: 200
  },
  account: {
    url: (config) => config.urls.userinfo,
    pick: (body) => typeof body.sub === 'string' ? { id: body.sub, username: typeof body.preferred_username === 'string' ? body.preferred_username : undefined } : undefined
  },
  revoke: async (oauth, url, { accessToken, refreshToken }) => await revokeToken(oauth, url, refreshToken ?? accessToken, { token_type_hint: refreshToken === undefined ? 'access_token' : 'refresh_token' })
})

// The registry's list plus one line: what registry.ts would hold with the platform added.
const modules = [...PLATFORM_MODULES, acmeModule]
const logs = new LogCapture()
const service = await startSandboxedService(t, { logs, platformModules: modules })
const INTERNAL = { authorization: 'Bearer internal-7NwK3qZt8VbR1xMf5LyP2hGd9sJ' }

t.test('the fifth platform is configured from its spec and sandboxed like the others', async (t) => {
  t.ok(service.config.sandbox.platforms.includes('acme' as never), 'sandboxed')
  const config = (service.config.platforms as Record<string, { clientId: string, configured: boolean, urls: { token: string } }>).acme
  t.equal(config?.clientId, 'sandbox-acme-client', 'its client id variable is the one its spec names (ACME_APP_ID)')
  t.equal(config?.urls.token, `${service.baseUrl}/sandbox/acme/oauth2/token`, 'its endpoints at the paths of its real URLs')
})

t.test('consent, connect, cron refresh, internal route, disconnect', async (t) => {
  const userId = 'acme-user'
  const browser = await signedInBrowser(service, userId)
  const provider = service.hub.provider('acme' as never)
  const walk = await walkConsent(service, browser, 'acme', 'allow')
  t.equal(walk.page.status, 200, 'the sandbox consent page')
  t.equal(walk.back.origin + walk.back.pathname, `${service.baseUrl}/api/auth/acme/callback`)
  t.equal(walk.callback.headers.location, `${APP_URL}/settings/integrations?connected=acme`, 'connected')
  const key = { userId, platform: 'acme' }
  const first = await service.store.get(key)
  t.equal(first?.status, 'connected')
  const firstSecrets = service.store.openSecrets(first!)
  t.ok(provider.isValid(firstSecrets.accessToken), 'the stored access token is one the sandbox issued')
  t.match((await browser.get(service.app, '/api/platforms/status')).json(), { platforms: {} }, 'the status route still answers')

  service.clock.advance(HOUR_MS)
  const run = await cronRun(service)
  t.match(run.results.find((r) => r.platform === 'acme'), { refreshed: 1, failed: 0, needsReauth: 0 }, 'the cron refreshed it')
  const second = service.store.openSecrets((await service.store.get(key))!)
  t.not(second.refreshToken, firstSecrets.refreshToken, 'rotated')
  t.notOk(provider.isValid(firstSecrets.refreshToken ?? ''), 'the presented refresh token is spent')

  const handed = await service.app.inject({ method: 'GET', url: `/api/internal/tokens/${userId}/acme`, headers: INTERNAL })
  t.equal(handed.statusCode, 200)
  t.equal(handed.json().accessToken, second.accessToken, 'the internal route hands out the stored token')
  const forced = await service.app.inject({ method: 'GET', url: `/api/internal/tokens/${userId}/acme?force=true`, headers: INTERNAL })
  t.equal(forced.statusCode, 200)
  t.not(forced.json().accessToken, second.accessToken, 'force=true refreshed it')
  t.same(provider.ledger.presentedMoreThanOnce(), [], 'no refresh token presented twice')

  const latest = service.store.openSecrets((await service.store.get(key))!)
  const del = await browser.request(service.app, 'DELETE', '/api/platforms/acme')
  t.same(del.json(), { ok: true, revoked: true }, 'revoked at the provider')
  t.notOk(provider.isValid(latest.accessToken), 'the sandbox no longer honours the token')
  t.equal(await service.store.get(key), undefined, 'forgotten')
  t.ok(provider.ledger.allSecrets().length >= 6, 'codes and tokens were issued')
  t.same(provider.ledger.allSecrets().filter((secret) => logs.text.includes(secret)), [], 'no token or code in any log line')
})
