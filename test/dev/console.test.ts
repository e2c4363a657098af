// The /dev console through inject: the page, the sign-in cookie, the connect flow through the real
// routes (with a fake provider), rotation seen as a fingerprint, escaping of hostile values, cross-site
// posts refused, production 404, and no secret or token in any page (canaries).
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import app from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { consoleCsp, CONSOLE_STYLE, CONSOLE_STYLE_HASH } from '../../src/dev/console-page.js'
import { devIdentityEnv } from '../../src/dev/identity-env.js'
import { SandboxHub } from '../../src/sandbox/control.js'
import { sandboxEnv } from '../../src/sandbox/sandbox-env.js'
import { serverOptions } from '../../src/server-options.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { RedditFake } from '../fakes/reddit.js'
import { createTestTable, testEnv } from '../helper.js'
import { jwtOf, location, reservePort, sameOriginForm, signIn, startDevApp } from '../helpers/dev-app.js'

const HOSTILE_NAME = '<script>alert("x")</script>\'"&'

async function page (instance: FastifyInstance, cookie?: string, query = ''): Promise<string> {
  const res = await instance.inject({ url: `/dev${query}`, headers: cookie === undefined ? {} : { cookie } })
  if (res.statusCode !== 200) throw new Error(`/dev answered ${res.statusCode}`)
  return res.body
}

const rowOf = (body: string, platform: string): string => /<tr data-platform="[a-z]+">[\s\S]*?<\/tr>/g.exec(body.slice(body.indexOf(`<tr data-platform="${platform}"`)))?.[0] ?? ''
const fingerprintIn = (row: string): string => /<code class="fingerprint">([0-9a-f]*)<\/code>/.exec(row)?.[1] ?? ''
const sha8 = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 8)

t.test('signed out: the page, its CSP and headers, no script', async (t) => {
  const { app: instance } = await startDevApp(t, await reservePort())
  const res = await instance.inject({ url: '/dev' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.equal(res.headers['content-security-policy'], consoleCsp([]), 'the console\'s own CSP replaces the API one')
  t.equal(res.headers['content-security-policy'], `default-src 'none'; style-src ${CONSOLE_STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`)
  t.equal(CONSOLE_STYLE_HASH, `'sha256-${createHash('sha256').update(CONSOLE_STYLE).digest('base64')}'`)
  t.ok(res.body.includes(`<style>${CONSOLE_STYLE}</style>`), 'the style sent is exactly the hashed one')
  t.equal(res.headers['x-frame-options'], 'DENY', 'helmet\'s other headers stay')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notMatch(res.body, /<script/i)
  t.match(res.body, /<form method="post" action="\/dev\/sign-in" id="sign-in"><label>Test user <input name="name" value="alice"/)
  t.notMatch(res.body, /http-equiv="refresh"/)
  t.match(await page(instance, undefined, '?watch=1'), /<meta http-equiv="refresh" content="2">/, 'watch mode reloads every 2 s')
  t.match(res.body, /<tr data-platform="reddit">[\s\S]*?not_configured/)
})

t.test('sign-in sets a signed, httpOnly, SameSite=Lax cookie; a forged cookie signs nobody in', async (t) => {
  const { app: instance, baseUrl, env } = await startDevApp(t, await reservePort())
  const res = await instance.inject({ method: 'POST', url: '/dev/sign-in', headers: sameOriginForm(baseUrl), payload: 'name=bob' })
  t.equal(res.statusCode, 303, 'POST then redirect')
  t.equal(location(res), '/dev?done=signed_in')
  const cookie = res.cookies.find((c) => c.name === 'dev_session')
  t.match(cookie, { path: '/dev', httpOnly: true, sameSite: 'Lax', maxAge: 3600 })
  const header = `dev_session=${cookie?.value ?? ''}`
  t.match(await page(instance, header), /Signed in as <strong>bob<\/strong> \(sub <code>dev-bob<\/code>\)/)

  const jwt = jwtOf(String(env.COOKIE_SECRET), header)
  t.notMatch(await page(instance, `dev_session=${jwt}`), /Signed in as/, 'the bare JWT without our signature is no session')
  const bad = await instance.inject({ method: 'POST', url: '/dev/sign-in', headers: sameOriginForm(baseUrl), payload: `name=${encodeURIComponent(HOSTILE_NAME)}` })
  t.equal(location(bad), '/dev?error=bad_user_name')
  t.equal(bad.cookies.length, 0)
  const out = await instance.inject({ method: 'POST', url: '/dev/sign-out', headers: sameOriginForm(baseUrl, header) })
  t.equal(location(out), '/dev?done=signed_out')
  t.match(out.cookies.find((c) => c.name === 'dev_session'), { value: '', path: '/dev' }, 'sign-out clears the cookie')
  t.equal((await instance.inject({ method: 'POST', url: '/dev/refresh', headers: sameOriginForm(baseUrl) })).statusCode, 401, 'an action without a session is a 401')
})

t.test('cross-site posts are refused before anything happens', async (t) => {
  const { app: instance, baseUrl } = await startDevApp(t, await reservePort())
  const session = await signIn(instance, baseUrl)
  const forms = { 'content-type': 'application/x-www-form-urlencoded' }
  const attempts = {
    'another site (fetch metadata)': { ...forms, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    'a sibling site': { ...forms, 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1' },
    'another origin without fetch metadata': { ...forms, origin: 'https://evil.example' },
    'Origin null': { ...forms, origin: 'null' },
    'cross-site with a Bearer header': { ...forms, 'sec-fetch-site': 'cross-site', authorization: 'Bearer x' }
  }
  for (const [name, headers] of Object.entries(attempts)) {
    for (const url of ['/dev/sign-in', '/dev/sign-out', '/dev/refresh', '/dev/connect/reddit', '/dev/disconnect/reddit']) {
      const res = await instance.inject({ method: 'POST', url, headers: { ...headers, cookie: session }, payload: 'name=mallory' })
      t.equal(res.statusCode, 403, `${name} ${url}: 403`)
      t.equal(res.json().error, 'cross_site_request')
      t.equal(res.cookies.length, 0, 'no cookie set or cleared')
    }
  }
  t.equal((await instance.inject({ method: 'POST', url: '/dev/sign-in', headers: sameOriginForm(baseUrl), payload: 'name=ok' })).statusCode, 303, 'same-origin passes')
})

t.test('connect, rotation and disconnect through the real routes; hostile values escaped; no secret in any page', async (t) => {
  const reserved = await reservePort()
  const reddit = await RedditFake.start(t, { redirectUri: `${reserved.baseUrl}/api/auth/reddit/callback`, user: { id: 't2_<b>id</b>', username: HOSTILE_NAME }, rotate: true, expiresInSec: 300 })
  const { app: instance, baseUrl, env } = await startDevApp(t, reserved, reddit.env())
  const session = await signIn(instance, baseUrl)
  const pages: string[] = []
  const look = async (query = ''): Promise<string> => { const body = await page(instance, session, query); pages.push(body); return body }

  t.equal((await instance.inject({ url: '/dev' })).headers['content-security-policy'], consoleCsp([new URL(reddit.url).origin]), 'form-action names the configured provider')
  t.match(rowOf(await look(), 'reddit'), /not_connected[\s\S]*action="\/dev\/connect\/reddit"/)

  // The user says no at the provider: back on /dev with the contract's error.
  reddit.denyNext = 1
  const denied = await instance.inject({ method: 'POST', url: '/dev/connect/reddit', headers: sameOriginForm(baseUrl, session) })
  const deniedBack = await reddit.authorize(location(denied))
  const deniedEnd = await instance.inject({ url: `${deniedBack.pathname}${deniedBack.search}`, headers: { cookie: `oauth_flow_reddit=${denied.cookies.find((c) => c.name === 'oauth_flow_reddit')?.value ?? ''}` } })
  t.equal(location(deniedEnd), `${baseUrl}/dev?error=access_denied&platform=reddit`)
  t.match(await look('?error=access_denied&platform=reddit'), /<p class="notice">reddit: ended with access_denied\.<\/p>/)

  const start = await instance.inject({ method: 'POST', url: '/dev/connect/reddit', headers: sameOriginForm(baseUrl, session) })
  t.equal(start.statusCode, 303)
  const authorizeUrl = new URL(location(start))
  t.equal(authorizeUrl.origin, new URL(reddit.url).origin, 'to the provider\'s authorize page')
  const flow = start.cookies.find((c) => c.name === 'oauth_flow_reddit')
  t.match(flow, { path: '/api/auth', httpOnly: true, sameSite: 'Lax' }, 'the start\'s state cookie is forwarded as it was set')
  const back = await reddit.authorize(authorizeUrl)
  const done = await instance.inject({ url: `${back.pathname}${back.search}`, headers: { cookie: `oauth_flow_reddit=${flow?.value ?? ''}` } })
  t.equal(done.statusCode, 302)
  t.equal(location(done), `${baseUrl}/dev?connected=reddit`, 'returnTo /dev is allowed and used')

  const connected = await look('?connected=reddit')
  const row = rowOf(connected, 'reddit')
  t.match(row, /class="status connected">connected</)
  t.ok(row.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;&amp;'), 'the hostile username, escaped')
  t.notOk(connected.includes(HOSTILE_NAME), 'and never raw')
  t.match(row, /<td class="countdown">(29\d|300) s left<\/td>/, 'seconds left, server-rendered')
  // The access token the service holds is the one it presented to the provider's userinfo.
  const first = String(reddit.requestsTo('userinfo')[0]?.headers.authorization).replace(/^bearer /i, '')
  t.ok(reddit.isValid(first))
  const fp1 = fingerprintIn(row)
  t.match(fp1, /^[0-9a-f]{8}$/)
  t.equal(fp1, sha8(first), 'the fingerprint is SHA-256 of the stored access token')
  t.match(connected, /Connected reddit\./)

  const refresh = await instance.inject({ method: 'POST', url: '/dev/refresh', headers: sameOriginForm(baseUrl, session) })
  t.equal(location(refresh), '/dev?done=refresh')
  const refreshed = await look('?done=refresh')
  const fp2 = fingerprintIn(rowOf(refreshed, 'reddit'))
  t.not(fp2, fp1, 'the access token rotated')
  t.equal(reddit.requestsTo('refresh').length, 1)
  t.match(refreshed, /<dd class="counts">refreshed 1, failed 0, needs_reauth 0/, 'the last run\'s summary')

  reddit.failNext('refresh', { kind: 'invalid_grant' })
  await instance.inject({ method: 'POST', url: '/dev/refresh', headers: sameOriginForm(baseUrl, session) })
  t.match(rowOf(await look(), 'reddit'), /class="status needs_reauth">needs_reauth</, 'an invalid grant: needs_reauth')

  const hostile = await look(`?error=${encodeURIComponent('<img src=x onerror=alert(1)>')}&platform=${encodeURIComponent('"><script>')}`)
  t.notOk(hostile.includes('<img src=x'), 'query values escaped')
  t.ok(hostile.includes('&quot;&gt;&lt;script&gt;: ended with &lt;img src=x onerror=alert(1)&gt;.'))

  const gone = await instance.inject({ method: 'POST', url: '/dev/disconnect/reddit', headers: sameOriginForm(baseUrl, session) })
  t.equal(location(gone), '/dev?done=disconnected&platform=reddit')
  t.match(rowOf(await look(), 'reddit'), /not_connected/)
  t.equal((await instance.inject({ method: 'POST', url: '/dev/disconnect/reddit', headers: sameOriginForm(baseUrl, session) })).headers.location, '/dev?error=not_connected&platform=reddit', 'the route\'s own answer, passed on')
  t.equal((await instance.inject({ method: 'POST', url: '/dev/connect/nowhere', headers: sameOriginForm(baseUrl, session) })).statusCode, 404)
  t.equal(location(await instance.inject({ method: 'POST', url: '/dev/connect/tiktok', headers: sameOriginForm(baseUrl, session) })), '/dev?error=not_configured&platform=tiktok')

  const canaries = [
    String(env.CRON_SECRET), String(env.COOKIE_SECRET), String(env.INTERNAL_API_KEY), String(env.TOKEN_ENCRYPTION_KEY).split(':')[1] ?? '',
    reddit.clientSecret, jwtOf(String(env.COOKIE_SECRET), session), session.slice('dev_session='.length), ...reddit.ledger.allSecrets()
  ]
  t.ok(reddit.ledger.allSecrets().length >= 4, 'codes and tokens were issued')
  for (const body of pages) {
    for (const canary of canaries) t.notOk(body.includes(canary), 'no secret, token, code or session in the page')
  }
})

// The real sandbox (src/sandbox) behind the console: the form reaches its fail switch, the row shows
// the pending failure, and only the sandbox's platforms get the form.
t.test('with the sandbox: the fail-next form reaches its switch and the pending failure is shown', async (t) => {
  const { port, baseUrl } = await reservePort()
  const table = await createTestTable(t, 'dev')
  // TikTok has credentials of its own: not sandboxed, so no fail-next form on its row.
  const base = testEnv({ NODE_ENV: 'development', APP_URL: baseUrl, TOKENS_TABLE: table.name, SANDBOX_BASE_URL: baseUrl, TIKTOK_CLIENT_KEY: 'real-key', TIKTOK_CLIENT_SECRET: 'real-secret', TIKTOK_REDIRECT_URI: `${baseUrl}/api/auth/tiktok/callback` })
  const sandbox = sandboxEnv(base)
  const { env } = devIdentityEnv(sandbox.env, baseUrl)
  const config = loadConfig(env, { sandboxed: sandbox.sandboxed })
  const hub = SandboxHub.fromConfig(config)
  const instance = Fastify(serverOptions(config))
  await instance.register(app, { config, dynamo: table.dynamo, sandbox: hub })
  t.teardown(() => instance.close())
  await instance.listen({ port, host: '127.0.0.1' })

  const body = await page(instance)
  t.match(rowOf(body, 'reddit'), /action="\/dev\/fail-next\/reddit"><select name="kind"><option value="invalid_grant">/)
  t.notMatch(rowOf(body, 'tiktok'), /fail-next/, 'only the sandbox\'s platforms')
  const res = await instance.inject({ method: 'POST', url: '/dev/fail-next/reddit', headers: sameOriginForm(baseUrl), payload: 'kind=timeout' })
  t.equal(location(res), '/dev?done=fail_next&platform=reddit')
  t.equal(hub.pendingFailure('reddit'), 'timeout', 'the sandbox\'s switch is set')
  t.match(rowOf(await page(instance), 'reddit'), /<td class="pending">timeout<\/td>/)
  t.equal(location(await instance.inject({ method: 'POST', url: '/dev/fail-next/reddit', headers: sameOriginForm(baseUrl), payload: 'kind=<x>' })), '/dev?error=bad_failure_kind&platform=reddit')
  t.equal(location(await instance.inject({ method: 'POST', url: '/dev/fail-next/tiktok', headers: sameOriginForm(baseUrl), payload: 'kind=timeout' })), '/dev?error=not_sandboxed&platform=tiktok')
  t.equal(hub.pendingFailure('reddit'), 'timeout', 'refused kinds change nothing')
  t.equal(hub.pendingFailure('tiktok'), undefined, 'refused platforms reach nothing')
})

t.test('development with a Cognito issuer of its own: the console has no sign-in and no dev JWKS is served', async (t) => {
  const issuer = await startJwksIssuer()
  t.teardown(() => issuer.close())
  const { app: instance, baseUrl } = await startDevApp(t, await reservePort(), issuer.env)
  const body = await page(instance)
  t.match(body, /Development sign-in is off: COGNITO_ISSUER is not this service&#39;s \/dev\/identity/)
  t.notMatch(body, /id="sign-in"/)
  const res = await instance.inject({ method: 'POST', url: '/dev/sign-in', headers: sameOriginForm(baseUrl), payload: 'name=alice' })
  t.equal(location(res), '/dev?error=sign_in_disabled')
  t.equal(res.cookies.length, 0)
  t.equal((await instance.inject({ url: '/dev/identity/.well-known/jwks.json' })).statusCode, 404)
  // The pool's own token in a (hand-made) session cookie is refused too: the console signs its cookies.
  t.notMatch(await page(instance, `dev_session=${await issuer.accessToken()}`), /Signed in as/)
})

t.test('production: no console', async (t) => {
  const table = await createTestTable(t, 'prod')
  const config = loadConfig(testEnv({ NODE_ENV: 'production', TOKENS_TABLE: table.name, COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client' }))
  const instance = Fastify(serverOptions(config))
  await instance.register(app, { config, dynamo: table.dynamo })
  t.teardown(() => instance.close())
  for (const url of ['/dev', '/dev?watch=1', '/dev/identity/.well-known/jwks.json']) t.equal((await instance.inject({ url })).statusCode, 404, `GET ${url}`)
  for (const url of ['/dev/sign-in', '/dev/refresh', '/dev/connect/reddit']) {
    t.equal((await instance.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=alice' })).statusCode, 404, `POST ${url}`)
  }
})

t.test('call the API as this user and revoke in the sandbox: a session is needed, the answer is shown, nothing leaks', async (t) => {
  const reserved = await reservePort()
  const { app: instance, baseUrl } = await startDevApp(t, reserved, {}, { sandbox: true })
  const anonymous = await instance.inject({ method: 'POST', url: '/dev/call-api/reddit', headers: sameOriginForm(baseUrl) })
  t.equal(anonymous.statusCode, 401, 'no session, no call')
  const cookie = await signIn(instance, baseUrl)
  const call = await instance.inject({ method: 'POST', url: '/dev/call-api/reddit', headers: sameOriginForm(baseUrl, cookie) })
  t.equal(location(call), '/dev?done=api_called&platform=reddit')
  const body = await page(instance, cookie, '?done=api_called&platform=reddit')
  t.match(body, /<code>GET \/api\/internal\/proxy\/…\/reddit\/api\/v1\/me<\/code> answered <strong class="api-status">404<\/strong>/, 'the proxy\'s answer for a platform not connected')
  t.match(body, /<pre class="api-body">\{&quot;ok&quot;:false,&quot;error&quot;:&quot;not_connected&quot;\}<\/pre>/, 'escaped')
  t.equal(location(await instance.inject({ method: 'POST', url: '/dev/revoke/reddit', headers: sameOriginForm(baseUrl, cookie) })), '/dev?error=not_connected&platform=reddit')
  t.equal((await instance.inject({ method: 'POST', url: '/dev/call-api/myspace', headers: sameOriginForm(baseUrl, cookie) })).statusCode, 404, 'an unknown platform is a 404')
  const crossSite = await instance.inject({ method: 'POST', url: '/dev/revoke/reddit', headers: { ...sameOriginForm(baseUrl, cookie), 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } })
  t.equal(crossSite.statusCode, 403, 'a cross-site post is refused')
})
