// Identity on user routes (every bad JWT of issue 5), status and disconnect, against DynamoDB Local,
// the local JWKS issuer and the fake Reddit (a real revocation endpoint).
import t from 'tap'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, LogCapture } from '../helper.js'

const issuer = await startJwksIssuer()
t.teardown(() => issuer.close())
const table = await createTestTable(t, 'platforms')
const reddit = await RedditFake.start(t)
const ENCRYPTION_KEY = generateEncryptionKey('k1')
const tokens = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(parseEncryptionKeys(ENCRYPTION_KEY)) })
const logs = new LogCapture()
const env = {
  TOKENS_TABLE: table.name,
  TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY,
  ...issuer.env,
  ...reddit.env(),
  TIKTOK_CLIENT_KEY: 'tiktok-client-key',
  TIKTOK_CLIENT_SECRET: 'tiktok-secret-0123456789',
  TIKTOK_REDIRECT_URI: 'https://app.example.test/api/auth/tiktok/callback'
}
const app = await buildApp(t, { env, dynamo: table.dynamo, logs })

const bearer = (jwt: string): Record<string, string> => ({ authorization: `Bearer ${jwt}` })
const status = async (headers: Record<string, string>) => await app.inject({ method: 'GET', url: '/api/platforms/status', headers })

async function connectReddit (userId: string): Promise<{ accessToken: string, refreshToken?: string | undefined }> {
  const grant = reddit.seedGrant({ id: `t2_${userId}`, username: `name_${userId}` }, ['identity'])
  await tokens.saveConnection({
    userId,
    platform: 'reddit',
    account: grant.user,
    scopes: ['identity', 'read'],
    accessToken: grant.accessToken,
    refreshToken: grant.refreshToken,
    expiresAtMs: Date.UTC(2030, 0, 1, 12, 0, 0)
  })
  return grant
}

t.test('identity: every bad JWT is 401 unauthenticated', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['missing', {}],
    ['malformed', bearer('not.a.jwt')],
    ['garbage', bearer('x')],
    ['alg none', bearer(issuer.unsigned())],
    ['signed by another key with a known kid', bearer(await issuer.forgedWithOtherKey())],
    ['expired by one second', bearer(await issuer.accessToken({ expiresInSec: -1 }))],
    ['another issuer', bearer(await issuer.accessToken({ issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other123' }))],
    ['another client id (access token)', bearer(await issuer.accessToken({ clientId: 'someone-elses-app' }))],
    ['another client id (id token)', bearer(await issuer.idToken({ clientId: 'someone-elses-app' }))],
    ['a token_use that is neither', bearer(await issuer.accessToken({ claims: { token_use: 'refresh' } }))],
    ['a Basic header', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an id token in the accessToken cookie', { cookie: issuer.amplifyCookies({ accessToken: await issuer.idToken() }) }],
    ['an access token in the idToken cookie', { cookie: issuer.amplifyCookies({ idToken: await issuer.accessToken() }) }],
    ['cookies of another app client', { cookie: issuer.amplifyCookies({ accessToken: await issuer.accessToken() }).replaceAll(issuer.clientId, 'other-client') }]
  ]
  for (const [name, headers] of cases) {
    const res = await status(headers)
    t.equal(res.statusCode, 401, name)
    t.same(res.json(), { ok: false, error: 'unauthenticated' }, name)
  }
  for (const [name, headers] of cases) {
    const res = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers })
    t.equal(res.statusCode, 401, `DELETE: ${name}`)
  }
})

t.test('identity: access and id tokens, by Bearer or Amplify cookies', async (t) => {
  t.equal((await status(bearer(await issuer.accessToken()))).statusCode, 200, 'Bearer access token')
  t.equal((await status(bearer(await issuer.idToken()))).statusCode, 200, 'Bearer id token')
  t.equal((await status({ cookie: issuer.amplifyCookies({ accessToken: await issuer.accessToken() }) })).statusCode, 200, 'accessToken cookie')
  t.equal((await status({ cookie: issuer.amplifyCookies({ idToken: await issuer.idToken() }) })).statusCode, 200, 'idToken cookie')
  const expiredAccess = await issuer.accessToken({ expiresInSec: -1 })
  t.equal((await status({ cookie: issuer.amplifyCookies({ accessToken: expiredAccess, idToken: await issuer.idToken() }) })).statusCode, 200, 'a valid id token beside an expired access token')
  // A present but bad Bearer header is not rescued by cookies.
  t.equal((await status({ ...bearer('bad.bad.bad'), cookie: issuer.amplifyCookies({ accessToken: await issuer.accessToken() }) })).statusCode, 401)
})

t.test('identity: an unreachable JWKS is 503, and no Cognito config is 401', async (t) => {
  const offline = await buildApp(t, { env: { ...env, COGNITO_JWKS_URL: 'http://127.0.0.1:9/jwks.json', PROVIDER_TIMEOUT_MS: '500' }, dynamo: table.dynamo })
  const res = await offline.inject({ method: 'GET', url: '/api/platforms/status', headers: bearer(await issuer.accessToken()) })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { ok: false, error: 'identity_unavailable' })
  const unconfigured = await buildApp(t, { env: { ...env, COGNITO_ISSUER: undefined, COGNITO_JWKS_URL: undefined, COGNITO_CLIENT_ID: undefined }, dynamo: table.dynamo })
  const res2 = await unconfigured.inject({ method: 'GET', url: '/api/platforms/status', headers: bearer(await issuer.accessToken()) })
  t.equal(res2.statusCode, 401)
})

t.test('status: every platform, in the contract\'s shape, never a token', async (t) => {
  const grant = await connectReddit('status-user')
  const res = await status(bearer(await issuer.accessToken({ sub: 'status-user' })))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), {
    platforms: {
      instagram: { status: 'not_configured' },
      tiktok: { status: 'not_connected' },
      reddit: {
        status: 'connected',
        account: { id: 't2_status-user', username: 'name_status-user' },
        expiresAt: '2030-01-01T12:00:00.000Z',
        scopes: ['identity', 'read']
      },
      threads: { status: 'not_configured' }
    }
  })
  t.notMatch(res.body, grant.accessToken)
  t.notMatch(res.body, /Enc|v1\.k1/)
})

t.test('status: needs_reauth and lastRefreshedAt', async (t) => {
  await connectReddit('reauth-user')
  const record = await tokens.get({ userId: 'reauth-user', platform: 'reddit' })
  if (record === undefined) throw new Error('seed failed')
  const claim = await tokens.claim(record, 'claim-1', 30_000)
  t.ok(claim.claimed)
  const refreshed = await tokens.completeRefresh(record, 'claim-1', { accessToken: 'fresh-access', expiresAtMs: Date.UTC(2030, 1, 1) })
  t.ok(refreshed.written)
  let body = (await status(bearer(await issuer.accessToken({ sub: 'reauth-user' })))).json()
  t.match(body.platforms.reddit, { status: 'connected', expiresAt: '2030-02-01T00:00:00.000Z' })
  t.match(body.platforms.reddit.lastRefreshedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  if (!refreshed.written) return
  t.ok((await tokens.claim(refreshed.record, 'claim-2', 30_000)).claimed)
  t.ok((await tokens.markNeedsReauth(refreshed.record, 'claim-2', 'invalid_grant', 30)).written)
  body = (await status(bearer(await issuer.accessToken({ sub: 'reauth-user' })))).json()
  t.equal(body.platforms.reddit.status, 'needs_reauth')
  t.equal(body.platforms.reddit.expiresAt, undefined)
})

t.test('user A never reads nor deletes user B\'s connection', async (t) => {
  await connectReddit('user-b')
  const asA = bearer(await issuer.accessToken({ sub: 'user-a' }))
  t.equal((await status(asA)).json().platforms.reddit.status, 'not_connected')
  const res = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers: asA })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { ok: false, error: 'not_connected' })
  // No parameter names a user: query strings and bodies are ignored.
  const sneaky = await app.inject({ method: 'GET', url: '/api/platforms/status?userId=user-b', headers: asA })
  t.equal(sneaky.json().platforms.reddit.status, 'not_connected')
  t.ok(await tokens.get({ userId: 'user-b', platform: 'reddit' }), 'B\'s row is still there')
})

t.test('disconnect: revokes at Reddit, then deletes', async (t) => {
  const grant = await connectReddit('leaver')
  const headers = bearer(await issuer.accessToken({ sub: 'leaver' }))
  const before = reddit.requestsTo('revoke').length
  const res = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true, revoked: true })
  t.equal(reddit.requestsTo('revoke').length, before + 1, 'the fake saw the revocation')
  t.notOk(reddit.isValid(grant.refreshToken ?? ''), 'the grant is dead at the provider')
  t.equal(await tokens.get({ userId: 'leaver', platform: 'reddit' }), undefined)
  const again = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers })
  t.equal(again.statusCode, 404)
  t.same(again.json(), { ok: false, error: 'not_connected' })
})

t.test('disconnect: a failed revocation still forgets the tokens, revoked false', async (t) => {
  await connectReddit('leaver-2')
  reddit.failNext('revoke', { kind: 'status', status: 500 })
  const res = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers: bearer(await issuer.accessToken({ sub: 'leaver-2' })) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true, revoked: false })
  t.equal(await tokens.get({ userId: 'leaver-2', platform: 'reddit' }), undefined)
})

// Regression (issue 14): a DELETE from another Origin with the Amplify cookies answered 200.
t.test('disconnect: a cross-site DELETE carrying only cookies is 403 and deletes nothing', async (t) => {
  await connectReddit('csrf-victim')
  const cookie = issuer.amplifyCookies({ accessToken: await issuer.accessToken({ sub: 'csrf-victim' }) }, 'csrf-victim')
  const refused: Array<[string, Record<string, string>]> = [
    ['another Origin', { origin: 'https://evil.example' }],
    ['a sibling subdomain as Origin', { origin: 'https://evil.app.example.test' }],
    ['Origin null (sandboxed frame)', { origin: 'null' }],
    ['Sec-Fetch-Site cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site from elsewhere', { 'sec-fetch-site': 'same-site', origin: 'https://other.example.test' }],
    ['Sec-Fetch-Site none (typed in, not the app)', { 'sec-fetch-site': 'none' }]
  ]
  for (const [name, headers] of refused) {
    const res = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers: { cookie, ...headers } })
    t.equal(res.statusCode, 403, name)
    t.same(res.json(), { ok: false, error: 'cross_site_request' }, name)
  }
  t.ok(await tokens.get({ userId: 'csrf-victim', platform: 'reddit' }), 'the connection is still there')
  // Reads stay open to the app's pages wherever they come from: nothing changes.
  t.equal((await app.inject({ url: '/api/platforms/status', headers: { cookie, origin: 'https://evil.example' } })).statusCode, 200, 'GET is not concerned')
  // A bearer caller chose its header: a cross-site Origin does not concern it.
  const asBearer = await app.inject({ method: 'DELETE', url: '/api/platforms/tiktok', headers: { ...bearer(await issuer.accessToken({ sub: 'csrf-victim' })), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })
  t.equal(asBearer.statusCode, 404, 'bearer: goes on (nothing connected on tiktok)')
  const fromApp = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers: { cookie, origin: 'https://app.example.test', 'sec-fetch-site': 'same-site' } })
  t.equal(fromApp.statusCode, 200, 'the app itself (Origin = APP_URL) disconnects')
})

t.test('disconnect: same-origin fetch metadata and clients that send neither header go on', async (t) => {
  for (const [user, headers] of [['csrf-same', { 'sec-fetch-site': 'same-origin', origin: 'https://oauth-refresher.example.test' }], ['csrf-none', {}]] as const) {
    await connectReddit(user)
    const cookie = issuer.amplifyCookies({ accessToken: await issuer.accessToken({ sub: user }) }, user)
    const res = await app.inject({ method: 'DELETE', url: '/api/platforms/reddit', headers: { cookie, ...headers } })
    t.equal(res.statusCode, 200, user)
  }
})

t.test('disconnect: unknown platform 404, nothing connected 404', async (t) => {
  const headers = bearer(await issuer.accessToken({ sub: 'nobody' }))
  const unknown = await app.inject({ method: 'DELETE', url: '/api/platforms/myspace', headers })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { ok: false, error: 'not_found' })
  const none = await app.inject({ method: 'DELETE', url: '/api/platforms/tiktok', headers })
  t.equal(none.statusCode, 404)
  t.same(none.json(), { ok: false, error: 'not_connected' })
})

t.test('no JWT reaches a log line', async (t) => {
  const jwt = await issuer.accessToken({ sub: 'logged-user' })
  await status(bearer(jwt))
  await status(bearer(`${jwt}x`))
  t.notOk(logs.text.includes(jwt.split('.')[2] ?? ''))
  t.match(logs.text, /request without a valid identity/)
})
