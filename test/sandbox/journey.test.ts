// Each sandboxed platform through the real service, over real HTTP to its own /sandbox URLs: Deny on
// the consent page, a connect through it, status, cron refreshes (rotation where the platform
// rotates), the fail switch (server_error, timeout, invalid_grant), reconnect, disconnect.
import t, { type Test } from 'tap'
import { HOUR_MS } from '../../src/platforms/platform.js'
import type { PlatformName } from '../../src/platforms/registry.js'
import { LogCapture } from '../helper.js'
import { APP_URL, cronRun, signedInBrowser, startSandboxedService, walkConsent, type SandboxedService } from '../helpers/sandbox.js'

const logs = new LogCapture()
const service: SandboxedService = await startSandboxedService(t, { logs })
const canaries = new Set<string>()

t.test('every platform is sandboxed when none has credentials', async (t) => {
  t.same([...service.config.sandbox.platforms].sort(), ['instagram', 'reddit', 'threads', 'tiktok'])
  t.same(service.hub.platforms, service.config.sandbox.platforms)
  t.equal(service.config.sandbox.tokenLifetimeSec, 600)
  t.equal(service.config.platforms.reddit.urls.token, `${service.baseUrl}/sandbox/reddit/api/v1/access_token`)
})

/** What differs per platform: whether it rotates its refresh token and whether it can revoke. */
const PLATFORMS: ReadonlyArray<{ platform: PlatformName, credential: 'refresh' | 'access', rotates: boolean, revokes: boolean }> = [
  { platform: 'reddit', credential: 'refresh', rotates: false, revokes: true },
  { platform: 'tiktok', credential: 'refresh', rotates: true, revokes: true },
  { platform: 'instagram', credential: 'access', rotates: false, revokes: false },
  { platform: 'threads', credential: 'access', rotates: false, revokes: false }
]

async function stored (platform: PlatformName, userId: string): Promise<{ status: string | undefined, accessToken: string, refreshToken: string | undefined }> {
  const record = await service.store.get({ userId, platform })
  if (record === undefined) return { status: undefined, accessToken: '', refreshToken: undefined }
  const secrets = service.store.openSecrets(record)
  for (const value of [secrets.accessToken, secrets.refreshToken]) if (value !== undefined) canaries.add(value)
  return { status: record.status, accessToken: secrets.accessToken, refreshToken: secrets.refreshToken }
}

/** The cron's result for `platform`, after moving the clock past Meta's 24 h minimum age and any backoff. */
async function refreshNow (platform: PlatformName): Promise<{ refreshed: number, failed: number, needsReauth: number }> {
  service.clock.advance(25 * HOUR_MS)
  const body = await cronRun(service)
  const result = body.results.find((r) => r.platform === platform)
  if (result === undefined) throw new Error(`no result for ${platform}`)
  return result
}

async function journey (t: Test, spec: typeof PLATFORMS[number]): Promise<void> {
  const { platform } = spec
  const userId = `sandbox-${platform}-user`
  const browser = await signedInBrowser(service, userId)
  const provider = service.hub.provider(platform)

  const denied = await walkConsent(service, browser, platform, 'deny')
  t.equal(denied.page.status, 200, 'the consent page')
  t.match(denied.page.headers.get('content-type'), /^text\/html/)
  t.match(denied.html, '<button name="decision" value="allow">Allow</button>')
  t.match(denied.html, '<button name="decision" value="deny">Deny</button>')
  t.match(denied.page.headers.get('content-security-policy'), /form-action 'self' http:\/\/127\.0\.0\.1:\d+ https:\/\/app\.example\.test/)
  t.equal(denied.back.searchParams.get('error'), 'access_denied', 'Deny: access_denied on the redirect URI, as the provider answers it')
  t.equal(denied.back.searchParams.get('code'), null)
  t.match(String(denied.callback.headers.location), `${APP_URL}/settings/integrations?error=access_denied`)
  t.equal((await stored(platform, userId)).status, undefined, 'nothing stored after Deny')

  const allowed = await walkConsent(service, browser, platform, 'allow')
  t.equal(allowed.back.origin + allowed.back.pathname, `${service.baseUrl}/api/auth/${platform}/callback`, 'Allow: back to the redirect URI')
  t.ok(allowed.back.searchParams.get('code'), 'with a code')
  canaries.add(allowed.back.searchParams.get('code') ?? '')
  t.equal(allowed.callback.headers.location, `${APP_URL}/settings/integrations?connected=${platform}`)
  const first = await stored(platform, userId)
  t.equal(first.status, 'connected')
  t.ok(provider.isValid(first.accessToken), 'the stored access token is one the sandbox issued')
  if (platform === 'instagram' || platform === 'threads') t.equal(provider.ledger.find(first.accessToken, ['access']) !== undefined, true, 'the long-lived token, not the short-lived one')

  const status = (await browser.get(service.app, '/api/platforms/status')).json().platforms[platform]
  t.match(status, { status: 'connected', account: { id: provider.user.id, username: provider.user.username } })
  t.ok(Date.parse(status.expiresAt) - service.clock.now() <= 600_000, 'the sandbox token lifetime (600 s)')

  // A cron run refreshes it: the credential presented once, rotated where the platform rotates.
  t.match(await refreshNow(platform), { refreshed: 1, failed: 0, needsReauth: 0 })
  const presented = spec.credential === 'refresh' ? first.refreshToken ?? '' : first.accessToken
  t.equal(provider.timesPresented(presented), 1, 'the credential was presented once')
  const second = await stored(platform, userId)
  t.equal(second.status, 'connected')
  t.not(second.accessToken, first.accessToken, 'a new access token')
  if (spec.credential === 'refresh') {
    if (spec.rotates) {
      t.not(second.refreshToken, first.refreshToken, 'a new refresh token')
      t.notOk(provider.isValid(first.refreshToken ?? ''), 'the presented refresh token is spent')
    } else {
      t.equal(second.refreshToken, first.refreshToken, 'no rotation: the refresh token is kept')
    }
  }
  t.same(provider.ledger.presentedMoreThanOnce(), [])

  // server_error: a 500, transient, the account stays connected.
  service.hub.failNextRefresh(platform, 'server_error')
  t.equal(service.hub.pendingFailure(platform), 'server_error')
  t.match(await refreshNow(platform), { refreshed: 0, failed: 1, needsReauth: 0 })
  t.equal(service.hub.pendingFailure(platform), undefined, 'the switch is used up')
  t.equal((await stored(platform, userId)).status, 'connected', 'still connected after a 500')

  // timeout: the sandbox holds the refresh past PROVIDER_TIMEOUT_MS; transient again.
  service.hub.failNextRefresh(platform, 'timeout')
  const started = Date.now()
  t.match(await refreshNow(platform), { refreshed: 0, failed: 1, needsReauth: 0 })
  t.ok(Date.now() - started >= 300, 'the run waited for the provider timeout')
  t.equal((await stored(platform, userId)).status, 'connected', 'still connected after a timeout')

  // The next run is a normal refresh again (the failures were one each).
  t.match(await refreshNow(platform), { refreshed: 1, failed: 0, needsReauth: 0 })

  // invalid_grant: the platform's permanent error, the account needs re-authorization.
  service.hub.failNextRefresh(platform, 'invalid_grant')
  t.match(await refreshNow(platform), { refreshed: 0, failed: 0, needsReauth: 1 })
  t.equal((await stored(platform, userId)).status, 'needs_reauth')
  t.equal((await browser.get(service.app, '/api/platforms/status')).json().platforms[platform].status, 'needs_reauth')

  // Reconnect through the consent page, then disconnect (revoked where the platform can).
  t.equal((await walkConsent(service, browser, platform, 'allow')).callback.headers.location, `${APP_URL}/settings/integrations?connected=${platform}`)
  const again = await stored(platform, userId)
  t.equal(again.status, 'connected')
  const revokes = service.hub.provider(platform).routes.some((r) => r.path.includes('revoke'))
  t.equal(revokes, spec.revokes, 'a revocation endpoint where the platform has one')
  const del = await browser.request(service.app, 'DELETE', `/api/platforms/${platform}`)
  t.same(del.json(), { ok: true, revoked: spec.revokes })
  t.equal(provider.isValid(again.accessToken), !spec.revokes, spec.revokes ? 'the sandbox no longer honours the token' : 'no revocation: the token lives on')
  t.equal((await browser.get(service.app, '/api/platforms/status')).json().platforms[platform].status, 'not_connected')
}

for (const spec of PLATFORMS) {
  t.test(`${spec.platform}: deny, connect, refresh, fail switch, reconnect, disconnect through the sandbox`, async (t) => journey(t, spec))
}

t.test('POST /sandbox/<platform>/fail-next sets the switch from a form', async (t) => {
  const form = (kind: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ kind }) })
  const ok = await fetch(`${service.baseUrl}/sandbox/tiktok/fail-next`, form('server_error'))
  t.equal(ok.status, 204)
  t.equal(service.hub.pendingFailure('tiktok'), 'server_error')
  const bad = await fetch(`${service.baseUrl}/sandbox/tiktok/fail-next`, form('explode'))
  t.equal(bad.status, 400)
  t.equal(service.hub.pendingFailure('tiktok'), 'server_error', 'a bad kind changes nothing')
  service.hub.takeRefreshFault('tiktok')
  t.throws(() => { service.hub.failNextRefresh('nope' as PlatformName, 'timeout') }, /not sandboxed/)
})

t.test('no token, code or client secret of the sandbox in any log line', async (t) => {
  for (const platform of service.config.sandbox.platforms) canaries.add(service.config.platforms[platform].clientSecret)
  for (const secret of [...canaries].filter((c) => c.length > 8)) t.notOk(logs.text.includes(secret), `canary ${secret.slice(0, 6)}… absent`)
})
