// The /dev console in a real browser (Debian's Chromium through playwright-core), against the service
// listening on 127.0.0.1 as `npm start` runs it with nothing configured: every platform served by the
// sandbox (src/sandbox), the development sign-in. Sign in, connect each platform through its sandbox
// consent page, refresh and see the fingerprints change, make the next refresh fail with the console's
// form, see needs_reauth, reconnect, call a provider's API as the user through the proxy, revoke in
// the sandbox and see the next proxied call find the grant dead, disconnect. Chromium enforces the pages' CSPs (style hash,
// form-action) for real; any violation it reports fails the test.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import t from 'tap'
import { reservePort, startDevApp } from '../helpers/dev-app.js'
import { withSystemTool } from '../helpers/system-tool.js'

const CHROMIUM = '/usr/bin/chromium'
const PLATFORMS = ['instagram', 'tiktok', 'reddit', 'threads'] as const
// Reddit and TikTok refresh within minutes; Instagram and Threads keep their providers' rule that a
// token younger than 24 h is not refreshed (deferred), sandbox or not.
const ROTATING = ['tiktok', 'reddit'] as const

const row = (platform: string): string => `tr[data-platform="${platform}"]`

t.test('a developer drives /dev in Chromium: sign in, connect every platform, rotate, fail, needs_reauth, reconnect, disconnect', async (t) => {
  if (!withSystemTool(t, { name: 'Chromium', present: existsSync(CHROMIUM), why: `the browser check needs Debian's Chromium at ${CHROMIUM}` })) return
  // Tokens of five minutes: inside every refresh window, so each run refreshes (and rotates) them.
  const { baseUrl } = await startDevApp(t, await reservePort(), { SANDBOX_TOKEN_LIFETIME_SEC: '300' }, { sandbox: true })

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const violations: string[] = []
  page.on('console', (message) => { if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text()) })

  const submit = async (selector: string, url: RegExp): Promise<void> => {
    await Promise.all([page.waitForURL(url), page.click(selector)])
  }
  const text = async (selector: string): Promise<string> => (await page.textContent(selector))?.trim() ?? ''
  /** Connect (or Reconnect): the console's form → the sandbox's consent page → Allow → back on /dev. */
  const connect = async (platform: string): Promise<void> => {
    await submit(`${row(platform)} button[name="connect"]`, new RegExp(`/sandbox/${platform}/`))
    t.match(await text('h1'), `Sandbox ${platform}`, `${platform}: the sandbox's consent page`)
    await submit('button[name="decision"][value="allow"]', new RegExp(`/dev\\?connected=${platform}$`))
  }

  await page.goto(`${baseUrl}/dev`)
  t.equal(await page.inputValue('#sign-in input[name="name"]'), 'alice', 'the name field defaults to alice')
  await submit('#sign-in button', /\/dev\?done=signed_in$/)
  t.match(await text('#who'), /Signed in as alice \(sub dev-alice\)/)
  const session = (await page.context().cookies()).find((c) => c.name === 'dev_session')
  t.match(session, { httpOnly: true, sameSite: 'Lax', path: '/dev' }, 'the browser holds an httpOnly, Lax session cookie')

  // Deny first: the provider's refusal comes back to /dev as an error, nothing is stored.
  await submit(`${row('reddit')} button[name="connect"]`, /\/sandbox\/reddit\//)
  await submit('button[name="decision"][value="deny"]', /\/dev\?error=access_denied/)
  t.equal(await text(`${row('reddit')} .status`), 'not_connected', 'denied: not connected')

  const fingerprints: Record<string, string> = {}
  for (const platform of PLATFORMS) {
    t.equal(await text(`${row(platform)} .status`), 'not_connected')
    await connect(platform)
    t.equal(await text(`${row(platform)} .status`), 'connected', `${platform} connected`)
    t.match(await text(`${row(platform)} .countdown`), /^(29\d|300) s left$/)
    fingerprints[platform] = await text(`${row(platform)} .fingerprint`)
    t.match(fingerprints[platform], /^[0-9a-f]{8}$/)
  }

  await submit('button[name="refresh"]', /\/dev\?done=refresh$/)
  for (const platform of ROTATING) {
    t.not(await text(`${row(platform)} .fingerprint`), fingerprints[platform], `${platform}: the access token rotated`)
  }
  for (const platform of ['instagram', 'threads']) {
    t.equal(await text(`${row(platform)} .fingerprint`), fingerprints[platform], `${platform}: younger than 24 h, kept`)
  }
  t.match(await text('#last-run .counts'), /^refreshed 2, failed 0, needs_reauth 0, deferred 2/, 'the last run\'s summary')

  // The console's own form sets the sandbox's switch; the next run meets invalid_grant.
  await page.selectOption(`${row('reddit')} select[name="kind"]`, 'invalid_grant')
  await submit(`${row('reddit')} button[name="fail-next"]`, /\/dev\?done=fail_next&platform=reddit$/)
  t.equal(await text(`${row('reddit')} .pending`), 'invalid_grant', 'the pending failure is shown')
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

  // Call the provider's API as the user through the proxy; revoke in the sandbox; the next call finds
  // the grant dead (Threads: a token minutes old, so the 24 h rule does not hide the revocation).
  await submit(`${row('reddit')} button[name="call-api"]`, /\/dev\?done=api_called&platform=reddit$/)
  t.equal(await text('#api-call .api-status'), '200', 'the proxied account call answered 200')
  t.match(await text('#api-call .api-body'), /"name":"/, 'with the provider\'s account answer')
  await submit(`${row('threads')} button[name="call-api"]`, /\/dev\?done=api_called&platform=threads$/)
  t.equal(await text('#api-call .api-status'), '200')
  await submit(`${row('threads')} button[name="revoke"]`, /\/dev\?done=revoked&platform=threads$/)
  t.equal(await text(`${row('threads')} .status`), 'connected', 'nobody knows yet')
  await submit(`${row('threads')} button[name="call-api"]`, /\/dev\?done=api_called&platform=threads$/)
  t.equal(await text('#api-call .api-status'), '409', 'the next proxied call: 409 needs_reauth')
  t.match(await text('#api-call .api-body'), /needs_reauth/)
  t.equal(await text(`${row('threads')} .status`), 'needs_reauth', 'found dead at first use')
  for (const platform of ['tiktok', 'instagram']) {
    await submit(`${row(platform)} button[name="disconnect"]`, new RegExp(`/dev\\?done=disconnected&platform=${platform}$`))
    t.equal(await text(`${row(platform)} .status`), 'not_connected', `${platform} disconnected`)
  }

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
