// The sandbox answers bad input in each platform's own wire, as the test fakes do (it is the same
// implementation): a forged client or unknown redirect URI is an error page (never a redirect), a
// wrong secret and a replayed code are the platform's error bodies. And the consent page escapes
// what it shows, and keeps the app's security headers.
import { Buffer } from 'node:buffer'
import t from 'tap'
import type { PlatformName } from '../../src/platforms/registry.js'
import { APP_URL, consentForm, startSandboxedService } from '../helpers/sandbox.js'

const service = await startSandboxedService(t)
const { baseUrl, config } = service
const UA = 'test:oauth-refresher-sandbox:v1 (by /u/tester)'
const paths: Record<PlatformName, { authorize: string, token: string, clientParam: string }> = {
  reddit: { authorize: '/api/v1/authorize', token: '/api/v1/access_token', clientParam: 'client_id' },
  tiktok: { authorize: '/v2/auth/authorize/', token: '/v2/oauth/token/', clientParam: 'client_key' },
  instagram: { authorize: '/oauth/authorize', token: '/oauth/access_token', clientParam: 'client_id' },
  threads: { authorize: '/oauth/authorize', token: '/oauth/access_token', clientParam: 'client_id' }
}
const PLATFORMS = Object.keys(paths) as PlatformName[]

function authorizeUrl (platform: PlatformName, overrides: Record<string, string> = {}): URL {
  const p = config.platforms[platform]
  const url = new URL(`${baseUrl}/sandbox/${platform}${paths[platform].authorize}`)
  const query = { [paths[platform].clientParam]: p.clientId, redirect_uri: p.redirectUri, response_type: 'code', state: 'st-1', scope: 'a,b', ...overrides }
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
  return url
}

/** A code as Allow gives it, through the consent page's form. */
async function codeFor (platform: PlatformName): Promise<string> {
  const url = authorizeUrl(platform)
  const { action, fields } = consentForm(await (await fetch(url)).text())
  const res = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual', body: new URLSearchParams({ ...fields, decision: 'allow' }) })
  const code = new URL(res.headers.get('location') ?? '').searchParams.get('code')
  if (code === null) throw new Error(`no code: ${res.status}`)
  return code
}

/** The code exchange as the platform's client sends it, with `secret`. */
async function exchange (platform: PlatformName, code: string, secret = config.platforms[platform].clientSecret): Promise<{ status: number, body: Record<string, unknown> }> {
  const p = config.platforms[platform]
  const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: p.redirectUri }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA }
  if (platform === 'reddit') headers.authorization = `Basic ${Buffer.from(`${p.clientId}:${secret}`).toString('base64')}`
  else if (platform === 'tiktok') Object.assign(form, { client_key: p.clientId, client_secret: secret })
  else Object.assign(form, { client_id: p.clientId, client_secret: secret })
  const res = await fetch(`${baseUrl}/sandbox/${platform}${paths[platform].token}`, { method: 'POST', headers, body: new URLSearchParams(form) })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

for (const platform of PLATFORMS) {
  t.test(`${platform}: a forged client id or an unknown redirect URI is an error page, never a redirect`, async (t) => {
    for (const url of [authorizeUrl(platform, { [paths[platform].clientParam]: 'forged-client' }), authorizeUrl(platform, { redirect_uri: 'https://evil.example/cb' })]) {
      const res = await fetch(url, { redirect: 'manual' })
      t.equal(res.status, 400)
      t.equal(res.headers.get('location'), null)
      t.match(await res.text(), /invalid client or redirect_uri/)
    }
    // The decision POST checks again: a forged form is refused the same way.
    const forged = await fetch(authorizeUrl(platform).origin + authorizeUrl(platform).pathname, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ ...Object.fromEntries(authorizeUrl(platform, { redirect_uri: 'https://evil.example/cb' }).searchParams), decision: 'allow' })
    })
    t.equal(forged.status, 400)
    t.equal(forged.headers.get('location'), null)
  })

  t.test(`${platform}: a wrong secret and a replayed code, in the platform's wire`, async (t) => {
    const wrong = await exchange(platform, await codeFor(platform), 'not-the-secret')
    if (platform === 'reddit') t.same(wrong, { status: 401, body: { message: 'Unauthorized', error: 401 } })
    else if (platform === 'tiktok') t.match(wrong, { status: 401, body: { error: 'invalid_client', log_id: String } })
    else t.same(wrong, { status: 400, body: { error_type: 'OAuthException', code: 400, error_message: 'Invalid platform app' } })

    const code = await codeFor(platform)
    t.equal((await exchange(platform, code)).status, 200, 'the code, once')
    const replayed = await exchange(platform, code)
    if (platform === 'reddit') t.same(replayed, { status: 400, body: { error: 'invalid_grant' } })
    else if (platform === 'tiktok') t.match(replayed, { status: 400, body: { error: 'invalid_grant', log_id: String } })
    else t.same(replayed, { status: 400, body: { error_type: 'OAuthException', code: 400, error_message: 'Invalid authorization code' } })
  })
}

t.test('the consent page escapes what it shows and keeps the security headers', async (t) => {
  const hostile = '"><script>alert(1)</script>'
  const res = await fetch(authorizeUrl('reddit', { state: hostile, scope: 'identity <img src=x onerror=alert(1)>' }))
  const html = await res.text()
  t.equal(res.status, 200)
  t.notMatch(html, /<script|<img/i, 'no markup from the query')
  t.match(html, '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  t.equal(consentForm(html).fields.state, hostile, 'the state is carried back intact')
  t.equal(res.headers.get('x-frame-options'), 'DENY')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(res.headers.get('content-security-policy'), /^default-src 'none'; form-action 'self' /)
  t.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/)
})

t.test('a decision other than allow or deny is refused', async (t) => {
  const url = authorizeUrl('tiktok')
  const { action, fields } = consentForm(await (await fetch(url)).text())
  const res = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual', body: new URLSearchParams({ ...fields, decision: 'maybe' }) })
  t.equal(res.status, 400)
  t.equal(res.headers.get('location'), null)
})

t.test('TikTok: a plain PKCE method is refused at the authorize step, as TikTok does', async (t) => {
  const res = await fetch(authorizeUrl('tiktok', { code_challenge: 'abc', code_challenge_method: 'plain' }), { redirect: 'manual' })
  t.equal(res.status, 400)
  t.equal(await res.text(), 'unsupported code_challenge_method')
})

t.test('the sandbox refuses cross-site POSTs, as the /dev console does: a visited page cannot queue a failure', async (t) => {
  const failNext = async (headers: Record<string, string>): Promise<Response> => await fetch(`${baseUrl}/sandbox/reddit/fail-next`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ kind: 'server_error' })
  })
  for (const headers of [
    { origin: 'https://evil.example' },
    { 'sec-fetch-site': 'cross-site' },
    { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', authorization: 'Bearer anything' },
    { origin: 'null' }
  ]) {
    const res = await failNext(headers)
    t.equal(res.status, 403, JSON.stringify(headers))
    t.same(await res.json(), { ok: false, error: 'cross_site_request' }, 'the contract\'s error shape')
  }
  // Nothing was queued: the next refresh at the sandbox succeeds (cronRun refreshes through it later).
  const url = authorizeUrl('reddit')
  const { action, fields } = consentForm(await (await fetch(url)).text())
  const consent = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual', headers: { origin: 'https://evil.example' }, body: new URLSearchParams({ ...fields, decision: 'allow' }) })
  t.equal(consent.status, 403, 'a consent answered from another site is refused')
  t.equal(consent.headers.get('location'), null)

  // The sandbox's own page (same origin), the app, and a client that sends no fetch metadata go on.
  t.equal((await failNext({ origin: new URL(baseUrl).origin, 'sec-fetch-site': 'same-origin' })).status, 204)
  t.equal((await failNext({ origin: new URL(APP_URL).origin })).status, 204)
  t.equal((await failNext({})).status, 204, 'curl, scripts: no Origin, no Sec-Fetch-Site')
  t.equal(consentForm(await (await fetch(url)).text()).action, action, 'GET pages are not concerned')
})
