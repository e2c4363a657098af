// The connect flow's start and callback against DynamoDB Local, a local JWKS issuer and the fake Reddit;
// every bad input of issue 5 that concerns the state, the cookie, the provider and returnTo.
import t, { type Test } from 'tap'
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { FLOW_STARTS_PER_MINUTE } from '../../src/routes/flow-rate.js'
import { DEFAULT_RETURN_TO } from '../../src/auth/return-to.js'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { STATE_LIFETIME_MS } from '../../src/store/oauth-state.js'
import { STATE_ATTR, stateItemKey } from '../../src/store/oauth-state-params.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, LogCapture } from '../helper.js'
import { Browser, callback, callbackUrl, startFlow } from '../helpers/connect-flow.js'

const APP_URL = 'https://app.example.test'
const issuer = await startJwksIssuer()
t.teardown(() => issuer.close())
const table = await createTestTable(t, 'auth')
const reddit = await RedditFake.start(t)
let nowMs = Date.now()
const logs = new LogCapture()
const ENCRYPTION_KEY = generateEncryptionKey('k1')
// The app's decorations live in its own scope: the test reads the table through its own store.
const tokens = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(parseEncryptionKeys(ENCRYPTION_KEY)) })
const app = await buildApp(t, {
  env: {
    TOKENS_TABLE: table.name,
    APP_URL,
    TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY,
    ...issuer.env,
    ...reddit.env(),
    // TikTok configured (start only: its authorize URL is never fetched here); Instagram left unconfigured.
    TIKTOK_CLIENT_KEY: 'tiktok-client-key',
    TIKTOK_CLIENT_SECRET: 'tiktok-secret-CANARY-0123456789',
    TIKTOK_REDIRECT_URI: `${APP_URL}/api/auth/tiktok/callback`
  },
  dynamo: table.dynamo,
  clock: () => nowMs,
  logs
})
/** Everything that must never reach a log line, collected as the tests go. */
const canaries = new Set<string>([reddit.clientSecret, 'tiktok-secret-CANARY-0123456789'])
let userCount = 0

async function signedIn (): Promise<{ browser: Browser, userId: string }> {
  const userId = `user-${++userCount}-${Date.now()}`
  const jwt = await issuer.accessToken({ sub: userId })
  canaries.add(jwt)
  return { browser: new Browser({ bearer: jwt }), userId }
}

async function stateItem (state: string, platform: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.dynamo.doc.send(new GetCommand({ TableName: table.name, Key: stateItemKey({ state, platform }), ConsistentRead: true }))
  return Item
}

/** Runs `fn` and counts the DynamoDB commands sent meanwhile (a middleware observes, nothing is faked). */
async function countingStoreCalls<T> (fn: () => Promise<T>): Promise<{ result: T, calls: number }> {
  let calls = 0
  const name = `count-${Math.random()}`
  table.dynamo.client.middlewareStack.add((next) => async (args) => { calls++; return await next(args) }, { step: 'initialize', name })
  try {
    return { result: await fn(), calls }
  } finally {
    table.dynamo.client.middlewareStack.remove(name)
  }
}

function remember (...values: Array<string | undefined | null>): void {
  for (const v of values) if (typeof v === 'string' && v !== '') canaries.add(v)
}

async function nothingStored (t: Test, userId: string): Promise<void> {
  t.same(await tokens.listByUser(userId), [], 'nothing stored')
}

function expectFailure (t: Test, res: { statusCode: number, headers: Record<string, unknown> }, error: string, platform: string, returnTo = DEFAULT_RETURN_TO): void {
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, `${APP_URL}${returnTo}${returnTo.includes('?') ? '&' : '?'}error=${error}&platform=${platform}`)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
}

/** Start at the service, then the fake's authorize step: the redirect back to our callback. */
async function toProvider (browser: Browser, returnTo?: string): Promise<{ state: string, back: URL }> {
  const { state, authorizeUrl } = await startFlow(app, browser, 'reddit', returnTo)
  const back = await reddit.authorize(authorizeUrl)
  remember(state, back.searchParams.get('code'), browser.jar.get('oauth_flow_reddit'))
  return { state, back }
}

t.test('start', async (t) => {
  t.test('without an identity: 401 unauthenticated', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/api/auth/reddit' })
    t.equal(res.statusCode, 401)
    t.same(res.json(), { ok: false, error: 'unauthenticated' })
    t.same(res.cookies, [])
  })

  t.test('an unknown platform is 404', async (t) => {
    const { browser } = await signedIn()
    for (const name of ['facebook', 'mastodon', 'REDDIT', 'reddit%00']) {
      const res = await browser.get(app, `/api/auth/${name}`)
      t.equal(res.statusCode, 404, name)
      t.same(res.json(), { ok: false, error: 'not_found' })
    }
  })

  t.test('a platform without credentials is 409 not_configured', async (t) => {
    const { browser } = await signedIn()
    const res = await browser.get(app, '/api/auth/instagram')
    t.equal(res.statusCode, 409)
    t.match(res.json(), { ok: false, error: 'not_configured' })
  })

  t.test('reddit: 302 to the authorize URL, state stored, binding cookie set', async (t) => {
    const { browser, userId } = await signedIn()
    const { res, authorizeUrl, state } = await startFlow(app, browser, 'reddit', '/dashboard?tab=social')
    remember(state)
    t.equal(`${authorizeUrl.origin}${authorizeUrl.pathname}`, `${reddit.url}/api/v1/authorize`)
    const q = authorizeUrl.searchParams
    t.equal(q.get('client_id'), reddit.clientId)
    t.equal(q.get('response_type'), 'code')
    t.equal(q.get('redirect_uri'), `${APP_URL}/api/auth/reddit/callback`)
    t.equal(q.get('duration'), 'permanent')
    t.equal(q.get('code_challenge'), null, 'Reddit gets no PKCE')
    t.match(state, /^[A-Za-z0-9_-]{43}$/, '256 random bits')
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['referrer-policy'], 'no-referrer')

    const cookie = res.cookies.find((c) => c.name === 'oauth_flow_reddit')
    t.ok(cookie)
    t.match(cookie, { path: '/api/auth', httpOnly: true, secure: true, sameSite: 'Lax', maxAge: STATE_LIFETIME_MS / 1000 })
    t.match(cookie?.value, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_+/=-]+$/, 'a signed value')
    remember(cookie?.value)

    const item = await stateItem(state, 'reddit')
    t.match(item, { userId: `oauth-state#${state}`, platform: 'reddit', ownerUserId: userId, returnTo: '/dashboard?tab=social' })
    t.notOk(item !== undefined && 'expiresAt' in item, 'no expiresAt: never in the byExpiry index')
    t.notOk(item !== undefined && 'codeVerifierEnc' in item)
    t.equal(item?.ttl, Math.ceil((nowMs + STATE_LIFETIME_MS) / 1000))
    t.equal(item?.bindingHash === cookie?.value.split('.')[0], false, 'the table holds a hash, not the cookie value')
    // Straight on the sparse index, without the store's own filtering: no state item is in it.
    const indexed = await table.dynamo.doc.send(new QueryCommand({
      TableName: table.name,
      IndexName: 'byExpiry',
      KeyConditionExpression: '#p = :p AND #e <= :t',
      ExpressionAttributeNames: { '#p': 'platform', '#e': 'expiresAt' },
      ExpressionAttributeValues: { ':p': 'reddit', ':t': Number.MAX_SAFE_INTEGER }
    }))
    t.notOk((indexed.Items ?? []).some((i) => String(i.userId).startsWith('oauth-state#')))
  })

  t.test('tiktok: PKCE S256 and client_key; the verifier is stored sealed', async (t) => {
    const { browser } = await signedIn()
    const { authorizeUrl, state } = await startFlow(app, browser, 'tiktok')
    remember(state, browser.jar.get('oauth_flow_tiktok'))
    const q = authorizeUrl.searchParams
    t.equal(q.get('client_key'), 'tiktok-client-key')
    t.equal(q.get('code_challenge_method'), 'S256')
    t.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
    const item = await stateItem(state, 'tiktok')
    t.match(item?.codeVerifierEnc, /^v1\.k1\./, 'sealed with the app cipher')
  })

  t.test('two starts never share a state', async (t) => {
    const { browser } = await signedIn()
    const a = await startFlow(app, browser, 'reddit')
    const b = await startFlow(app, browser, 'reddit')
    remember(a.state, b.state)
    t.not(a.state, b.state)
  })

  t.test('Amplify SSR cookies are an identity too', async (t) => {
    const jwt = await issuer.accessToken({ sub: 'amplify-user' })
    remember(jwt)
    const browser = new Browser({ cookieHeader: issuer.amplifyCookies({ accessToken: jwt }, 'amplify-user') })
    const { state } = await startFlow(app, browser, 'reddit')
    remember(state)
    t.match(await stateItem(state, 'reddit'), { ownerUserId: 'amplify-user' })
  })

  // Regression (issue 14): 300 starts in 6 s made 300 state items.
  t.test(`one user starting more than ${FLOW_STARTS_PER_MINUTE} flows a minute gets 429 rate_limited, with no state written`, async (t) => {
    const { browser } = await signedIn()
    const answers: number[] = []
    for (let i = 0; i < FLOW_STARTS_PER_MINUTE + 5; i++) answers.push((await browser.get(app, '/api/auth/reddit')).statusCode)
    t.same(answers, [...Array(FLOW_STARTS_PER_MINUTE).fill(302), ...Array(5).fill(429)])
    const refused = await countingStoreCalls(async () => await browser.get(app, '/api/auth/reddit'))
    t.equal(refused.result.statusCode, 429)
    t.match(refused.result.json(), { ok: false, error: 'rate_limited' })
    t.same(refused.result.cookies, [], 'no flow cookie')
    t.equal(refused.calls, 0, 'no DynamoDB call for a refused start')
    const other = await signedIn()
    const allowed = await countingStoreCalls(async () => await other.browser.get(app, '/api/auth/reddit'))
    t.equal(allowed.result.statusCode, 302, 'another user is not limited')
    t.ok(allowed.calls > 0, 'and the counter does see the store calls of a start')
  })

  t.test('returnTo outside the app is replaced by the default', async (t) => {
    const { browser } = await signedIn()
    const attempts = ['https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(document.cookie)',
      '/%2F%2Fevil.example', '%2F%2Fevil.example', '/%5Cevil.example', '/%252F%252Fevil.example', 'https:%2F%2Fevil.example']
    for (const returnTo of attempts) {
      const { state } = await startFlow(app, browser, 'reddit', returnTo)
      remember(state)
      t.equal((await stateItem(state, 'reddit'))?.returnTo, DEFAULT_RETURN_TO, returnTo)
    }
    // A repeated parameter is not a path either.
    const res = await browser.get(app, '/api/auth/reddit?returnTo=/a&returnTo=//evil.example')
    const state = new URL(String(res.headers.location)).searchParams.get('state') ?? ''
    remember(state)
    t.equal((await stateItem(state, 'reddit'))?.returnTo, DEFAULT_RETURN_TO)
  })
})

t.test('callback', async (t) => {
  t.test('the whole Reddit flow lands on returnTo with connected=reddit', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser, '/dashboard?tab=social')
    const res = await callback(app, browser, back)
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, `${APP_URL}/dashboard?tab=social&connected=reddit`)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.notOk(browser.jar.has('oauth_flow_reddit'), 'the flow cookie is cleared')
    const [record] = await tokens.listByUser(userId)
    t.match(record, { platform: 'reddit', status: 'connected', account: { id: reddit.user.id, username: reddit.user.username } })
    if (record !== undefined) remember(...Object.values(tokens.openSecrets(record)))
  })

  t.test('state missing', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    back.searchParams.delete('state')
    expectFailure(t, await callback(app, browser, back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('state unknown', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    back.searchParams.set('state', 'A'.repeat(43))
    expectFailure(t, await callback(app, browser, back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('state with one character changed fails, and does not burn the real one', async (t) => {
    const { browser, userId } = await signedIn()
    const { state, back } = await toProvider(browser, '/x')
    const changed = new URL(back)
    changed.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`)
    expectFailure(t, await callback(app, browser, changed), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
    const res = await callback(app, browser, back)
    t.equal(res.headers.location, `${APP_URL}/x?connected=reddit`)
  })

  t.test('state expired after ten minutes', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    nowMs += STATE_LIFETIME_MS + 1
    t.teardown(() => { nowMs -= STATE_LIFETIME_MS + 1 })
    expectFailure(t, await callback(app, browser, back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('state replayed: the second use fails and changes nothing', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    const cookie = browser.jar.get('oauth_flow_reddit') ?? ''
    t.equal((await callback(app, browser, back)).headers.location, `${APP_URL}${DEFAULT_RETURN_TO}?connected=reddit`)
    const before = await tokens.listByUser(userId)
    // An attacker replaying the whole request, old cookie included.
    browser.jar.set('oauth_flow_reddit', cookie)
    expectFailure(t, await callback(app, browser, back), 'invalid_state', 'reddit')
    t.same(await tokens.listByUser(userId), before)
  })

  t.test('a TikTok state at the Reddit callback is invalid (mix-up)', async (t) => {
    const { browser, userId } = await signedIn()
    const tiktok = await startFlow(app, browser, 'tiktok')
    const { back } = await toProvider(browser)
    remember(tiktok.state, browser.jar.get('oauth_flow_tiktok'))
    const mixed = new URL(back)
    mixed.searchParams.set('state', tiktok.state)
    expectFailure(t, await callback(app, browser, mixed), 'invalid_state', 'reddit')
    // With TikTok's cookie under Reddit's name, too.
    browser.jar.set('oauth_flow_reddit', browser.jar.get('oauth_flow_tiktok') ?? '')
    expectFailure(t, await callback(app, browser, mixed), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('a callback without a valid state cookie makes no DynamoDB call', async (t) => {
    const { browser } = await signedIn()
    const { back } = await toProvider(browser)
    for (const cookie of [undefined, 'oauth_flow_reddit=unsigned-value', `oauth_flow_reddit=${browser.jar.get('oauth_flow_reddit') ?? ''}x`]) {
      const { result, calls } = await countingStoreCalls(async () => await app.inject({ url: `${back.pathname}${back.search}`, headers: cookie === undefined ? {} : { cookie } }))
      expectFailure(t, result, 'invalid_state', 'reddit')
      t.equal(calls, 0, `no store call (${cookie === undefined ? 'no cookie' : 'bad cookie'})`)
    }
  })

  t.test('cookie missing (the callback reached another browser)', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    const victim = new Browser(browser.identity)
    expectFailure(t, await callback(app, victim, back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('cookie from another flow', async (t) => {
    const { browser, userId } = await signedIn()
    const first = await toProvider(browser)
    await toProvider(browser) // overwrites the flow cookie
    expectFailure(t, await callback(app, browser, first.back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('cookie tampered with or unsigned', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    const signed = browser.jar.get('oauth_flow_reddit') ?? ''
    const [nonce = '', signature = ''] = signed.split('.')
    browser.jar.set('oauth_flow_reddit', `${nonce}.${signature.slice(0, -2)}xx`)
    expectFailure(t, await callback(app, browser, back), 'invalid_state', 'reddit')
    browser.jar.set('oauth_flow_reddit', nonce)
    expectFailure(t, await callback(app, browser, back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('another signed-in user at the callback is refused; no identity is fine', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    const other = await issuer.accessToken({ sub: 'someone-else' })
    remember(other)
    const asOther = new Browser({ bearer: other })
    for (const [k, v] of browser.jar) asOther.jar.set(k, v)
    expectFailure(t, await callback(app, asOther, back), 'invalid_state', 'reddit')
    await nothingStored(t, userId)
    await nothingStored(t, 'someone-else')
    const anonymous = new Browser()
    for (const [k, v] of browser.jar) anonymous.jar.set(k, v)
    t.equal((await callback(app, anonymous, back)).headers.location, `${APP_URL}${DEFAULT_RETURN_TO}?connected=reddit`)
    t.equal((await tokens.listByUser(userId)).length, 1, 'stored for the user who started the flow')
  })

  t.test('access_denied at the provider', async (t) => {
    const { browser, userId } = await signedIn()
    reddit.denyNext = 1
    const { back } = await toProvider(browser, '/settings?x=1')
    t.equal(back.searchParams.get('error'), 'access_denied')
    expectFailure(t, await callback(app, browser, back), 'access_denied', 'reddit', '/settings?x=1')
    await nothingStored(t, userId)
  })

  t.test('provider error codes other than access_denied', async (t) => {
    const { browser, userId } = await signedIn()
    const { state } = await toProvider(browser)
    expectFailure(t, await callback(app, browser, callbackUrl('reddit', { state, error: 'temporarily_unavailable' })), 'provider_unavailable', 'reddit')
    const second = await toProvider(browser)
    expectFailure(t, await callback(app, browser, callbackUrl('reddit', { state: second.state, error: 'invalid_scope' })), 'exchange_failed', 'reddit')
    const third = await toProvider(browser)
    expectFailure(t, await callback(app, browser, callbackUrl('reddit', { state: third.state })), 'exchange_failed', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('a failed exchange', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    reddit.failNext('code', { kind: 'oauth_error', error: 'invalid_grant' })
    expectFailure(t, await callback(app, browser, back), 'exchange_failed', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('the provider down during the exchange', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    reddit.failNext('code', { kind: 'status', status: 503 })
    expectFailure(t, await callback(app, browser, back), 'provider_unavailable', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('a malformed answer', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    reddit.failNext('code', { kind: 'broken_json' })
    expectFailure(t, await callback(app, browser, back), 'exchange_failed', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('the account lookup failing', async (t) => {
    const { browser, userId } = await signedIn()
    const { back } = await toProvider(browser)
    reddit.failNext('userinfo', { kind: 'status', status: 500 })
    expectFailure(t, await callback(app, browser, back), 'provider_unavailable', 'reddit')
    await nothingStored(t, userId)
    const second = await toProvider(browser)
    reddit.failNext('userinfo', { kind: 'broken_json' })
    expectFailure(t, await callback(app, browser, second.back), 'exchange_failed', 'reddit')
    await nothingStored(t, userId)
  })

  t.test('returnTo attacks end on APP_URL after the provider too', async (t) => {
    const { browser } = await signedIn()
    for (const returnTo of ['https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(1)', '/%2F%2Fevil.example', '/a/..//evil.example']) {
      reddit.denyNext = 1
      const { back } = await toProvider(browser, returnTo)
      expectFailure(t, await callback(app, browser, back), 'access_denied', 'reddit')
    }
  })

  // Regression (issue 14): the state's returnTo is checked again when it is consumed, so an item
  // written before a fix (or by anything but the start route) cannot send the browser elsewhere.
  t.test('a stored returnTo that is not a plain path is replaced when the state is consumed', async (t) => {
    const { browser } = await signedIn()
    const { state, back } = await toProvider(browser, '/fine')
    await table.dynamo.doc.send(new UpdateCommand({
      TableName: table.name,
      Key: stateItemKey({ state, platform: 'reddit' }),
      UpdateExpression: 'SET #r = :r',
      ExpressionAttributeNames: { '#r': STATE_ATTR.returnTo },
      ExpressionAttributeValues: { ':r': '//evil.example' }
    }))
    const res = await callback(app, browser, back)
    t.equal(res.headers.location, `${APP_URL}${DEFAULT_RETURN_TO}?connected=reddit`)
  })

  t.test('a HEAD request neither starts a flow nor consumes a state', async (t) => {
    const { browser } = await signedIn()
    const head = await app.inject({ method: 'HEAD', url: '/api/auth/reddit', headers: browser.headers() })
    t.not(head.statusCode, 302)
    t.same(head.cookies, [])
    const { back } = await toProvider(browser)
    const probe = await app.inject({ method: 'HEAD', url: `${back.pathname}${back.search}`, headers: browser.headers() })
    t.not(probe.statusCode, 302)
    t.equal((await callback(app, browser, back)).headers.location, `${APP_URL}${DEFAULT_RETURN_TO}?connected=reddit`)
  })

  t.test('an unknown platform\'s callback is 404', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/api/auth/myspace/callback?code=x&state=y' })
    t.equal(res.statusCode, 404)
    t.same(res.json(), { ok: false, error: 'not_found' })
  })
})

t.test('no token, code, state, verifier, cookie or JWT value in any log line', async (t) => {
  t.ok(logs.lines.length > 20, 'the tests did log')
  t.ok(canaries.size > 40)
  for (const canary of canaries) t.notOk(logs.text.includes(canary), `canary ${canary.slice(0, 6)}… absent`)
  t.match(logs.text, /connect flow ended/)
})
