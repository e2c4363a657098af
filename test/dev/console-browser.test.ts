// The /dev console in a real browser (Debian's Chromium through playwright-core), against the service
// listening on 127.0.0.1 with fake providers (test/fakes): sign in, connect each platform through the
// provider's authorize page, refresh and see the fingerprint change, make the next refresh fail, see
// needs_reauth, reconnect, disconnect. Chromium enforces the page's CSP (style hash, form-action on the
// connect redirect) for real; any violation it reports fails the test.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import t from 'tap'
import { RedditFake } from '../fakes/reddit.js'
import { TiktokFake } from '../fakes/tiktok.js'
import type { OAuthFake } from '../fakes/oauth-fake.js'
import { reservePort, startDevApp } from '../helpers/dev-app.js'

const CHROMIUM = '/usr/bin/chromium'

// ---- The provider's side, against the fakes. LEAD: swap these two at the sandbox merge. ------------
/**
 * The provider's consent step, after the console's Connect button sent the browser there. A fake
 * answers its authorize page with the redirect at once (nothing to click); checked by its log.
 * Sandbox: wait for its consent page, then click Allow and wait for /dev:
 * `await Promise.all([page.waitForURL(back), page.click('button[name="decision"][value="allow"]')])`.
 */
async function giveConsent (page: Page, platform: string, fake: OAuthFake, authorizeCallsBefore: number): Promise<void> {
  await page.waitForURL(new RegExp(`/dev\\?connected=${platform}$`))
  if (fake.requestsTo('authorize').length !== authorizeCallsBefore + 1) throw new Error('the browser did not visit the provider\'s authorize page')
}
/**
 * The next refresh fails with invalid_grant: the fake's fault queue. Sandbox: the console's own form,
 * `await page.selectOption(row + ' select[name="kind"]', 'invalid_grant')` then click
 * `button[name="fail-next"]` (it calls app.sandbox.failNextRefresh).
 */
async function makeNextRefreshFail (_page: Page, fake: OAuthFake): Promise<void> {
  fake.failNext('refresh', { kind: 'invalid_grant' })
}
// ---------------------------------------------------------------------------------------------------

const row = (platform: string): string => `tr[data-platform="${platform}"]`

t.test('a developer drives /dev in Chromium: sign in, connect, rotate, fail, needs_reauth, reconnect, disconnect', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`no Chromium at ${CHROMIUM}: apt-get install chromium`)
    return
  }
  const reserved = await reservePort()
  const callbackOf = (platform: string): string => `${reserved.baseUrl}/api/auth/${platform}/callback`
  // Tokens of five minutes: inside every refresh window, so each run refreshes (and rotates) them.
  const fakes: Record<string, OAuthFake> = {
    reddit: await RedditFake.start(t, { redirectUri: callbackOf('reddit'), rotate: true, expiresInSec: 300 }),
    tiktok: await TiktokFake.start(t, { redirectUri: callbackOf('tiktok'), expiresInSec: 300 })
  }
  const { baseUrl } = await startDevApp(t, reserved, { ...fakes.reddit?.env(), ...fakes.tiktok?.env() })

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const violations: string[] = []
  page.on('console', (message) => { if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text()) })

  const submit = async (selector: string, url: RegExp): Promise<void> => {
    await Promise.all([page.waitForURL(url), page.click(selector)])
  }
  /** Connect (or Reconnect): the console's form, the provider's consent, back on /dev. */
  const connect = async (platform: string): Promise<void> => {
    const fake = fakes[platform] as OAuthFake
    const before = fake.requestsTo('authorize').length
    await page.click(`${row(platform)} button[name="connect"]`)
    await giveConsent(page, platform, fake, before)
  }
  const text = async (selector: string): Promise<string> => (await page.textContent(selector))?.trim() ?? ''

  await page.goto(`${baseUrl}/dev`)
  t.equal(await page.inputValue('#sign-in input[name="name"]'), 'alice', 'the name field defaults to alice')
  await submit('#sign-in button', /\/dev\?done=signed_in$/)
  t.match(await text('#who'), /Signed in as alice \(sub dev-alice\)/)
  const session = (await page.context().cookies()).find((c) => c.name === 'dev_session')
  t.match(session, { httpOnly: true, sameSite: 'Lax', path: '/dev' }, 'the browser holds an httpOnly, Lax session cookie')

  const fingerprints: Record<string, string> = {}
  for (const platform of Object.keys(fakes)) {
    t.equal(await text(`${row(platform)} .status`), 'not_connected')
    // POST → 303 to the provider's authorize page (another origin: form-action lists it) → 302 to the
    // service's callback → 302 to /dev.
    await connect(platform)
    t.equal(await text(`${row(platform)} .status`), 'connected', `${platform} connected`)
    t.match(await text(`${row(platform)} .countdown`), /^(29\d|300) s left$/)
    fingerprints[platform] = await text(`${row(platform)} .fingerprint`)
    t.match(fingerprints[platform], /^[0-9a-f]{8}$/)
  }
  t.equal(await text(`${row('instagram')} .status`), 'not_configured')

  await submit('button[name="refresh"]', /\/dev\?done=refresh$/)
  for (const platform of Object.keys(fakes)) {
    t.not(await text(`${row(platform)} .fingerprint`), fingerprints[platform], `${platform}: the access token rotated`)
  }
  t.match(await text('#last-run .counts'), /^refreshed 2, failed 0, needs_reauth 0/, 'the last run\'s summary')

  await makeNextRefreshFail(page, fakes.reddit as OAuthFake)
  await submit('button[name="refresh"]', /\/dev\?done=refresh$/)
  t.equal(await text(`${row('reddit')} .status`), 'needs_reauth', 'reddit needs re-authorisation')
  t.equal(await text(`${row('tiktok')} .status`), 'connected', 'tiktok untouched')
  t.match(await text('#last-run .counts'), /needs_reauth 1/)
  // The stylesheet is allowed by its hash: Chromium applied it.
  t.equal(await page.$eval(`${row('reddit')} .status`, (el) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { color: string } }).getComputedStyle(el).color), 'rgb(170, 0, 0)', 'the hashed style applies')

  const shotDir = mkdtempSync(join(tmpdir(), 'dev-console-'))
  t.teardown(() => rmSync(shotDir, { recursive: true, force: true }))
  const shot = join(shotDir, 'needs-reauth.png')
  await page.screenshot({ path: shot, fullPage: true })
  t.same([...readFileSync(shot).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG screenshot')
  t.comment(`screenshot: ${shot}`)

  await connect('reddit')
  t.equal(await text(`${row('reddit')} .status`), 'connected', 'reconnected')
  await submit(`${row('tiktok')} button[name="disconnect"]`, /\/dev\?done=disconnected&platform=tiktok$/)
  t.equal(await text(`${row('tiktok')} .status`), 'not_connected', 'disconnected')
  t.equal(fakes.tiktok?.requestsTo('revoke').length, 1, 'the real DELETE route revoked at the provider')

  // Watch mode: the meta refresh reloads the page by itself (no script anywhere).
  await page.goto(`${baseUrl}/dev?watch=1`)
  await page.waitForEvent('load', { timeout: 5_000 })
  t.pass('watch mode reloaded the page')
  t.equal(await page.locator('script').count(), 0, 'no script element')
  const html = await page.content()
  t.notOk(html.includes(String(session?.value)), 'the session never appears in the page')
  t.same(violations, [], 'no CSP violation reported')
  await submit('button[name="sign-out"]', /\/dev\?done=signed_out$/)
  t.equal(await page.locator('#sign-in').count(), 1, 'signed out')
})
