// GET /api/internal/tokens/:userId/:platform over inject, on DynamoDB Local and a fake Reddit:
// the guard's refusals, the handout and its refresh-first rule, force and its cooldown, the provider
// failing, colliding keys, one refresh for 20 callers, waiting for another instance's claim, the store down.
import t, { type Test } from 'tap'
import { createCipher } from '../../src/store/crypto.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, LogCapture, testConfig, type Env } from '../helper.js'
import { manualClock, seedTokens } from '../helpers/refresh.js'

const KEY = 'internal-key-0123456789abcdef'
const KEY2 = 'internal-key-second-0123456789'
const CRON = 'cron-secret-0123456789abcdef'
const MINUTE = 60_000
const auth = (key = KEY): Record<string, string> => ({ authorization: `Bearer ${key}` })
const url = (userId: string, platform = 'reddit', query = ''): string => `/api/internal/tokens/${encodeURIComponent(userId)}/${platform}${query}`

async function setup (t: Test, env: Env = {}, options: { logs?: LogCapture, rotate?: boolean } = {}) {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t, { rotate: options.rotate ?? true })
  const clock = manualClock()
  const config = testConfig({
    TOKENS_TABLE: table.name,
    CRON_SECRET: CRON,
    INTERNAL_API_KEY: `${KEY},${KEY2}`,
    PROVIDER_TIMEOUT_MS: '1000',
    ...reddit.env(),
    ...env,
    ...(options.logs === undefined ? {} : { LOG_LEVEL: env.LOG_LEVEL ?? 'debug' })
  })
  const app = await buildApp(t, { config, clock: clock.now, ...(options.logs === undefined ? {} : { logs: options.logs }) })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: clock.now })
  const seed = async (expiresInMs: number, prefix = 'user') => (await seedTokens(store, reddit, 1, { expiresInMs, now: clock.now, prefix }))[0]!
  return { table, reddit, clock, app, store, config, seed }
}

t.test('the guard: only a configured key as Bearer passes; every refusal is one no-store 401', async (t) => {
  const { app, seed, reddit } = await setup(t)
  const token = await seed(60 * MINUTE)
  const refusals: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['a wrong key', auth('internal-key-wrong-0123456789')],
    ['an empty Bearer', { authorization: 'Bearer ' }],
    ['a 100 KB key', auth('k'.repeat(100_000))],
    ['the keys joined', auth(`${KEY},${KEY2}`)],
    ['the keys joined without comma', auth(`${KEY}${KEY2}`)],
    ['the cron secret', auth(CRON)],
    ['the key as x-cron-secret', { 'x-cron-secret': KEY }],
    ['the key without Bearer', { authorization: KEY }],
    ['Basic with the key', { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}` }],
    ['a user JWT', auth('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTAifQ.c2lnbmF0dXJl')],
    ['a key prefix', auth(KEY.slice(0, -1))]
  ]
  for (const [what, headers] of refusals) {
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers })
    t.equal(res.statusCode, 401, what)
    t.same(res.json(), { ok: false, error: 'unauthorized' }, what)
    t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
  }
  t.equal(reddit.requests.length, 0, 'nothing reached the provider')
  for (const key of [KEY, KEY2]) {
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth(key) })
    t.equal(res.statusCode, 200, 'each configured key passes')
  }
  const unknown = await app.inject({ method: 'GET', url: '/api/internal/nothing-here' })
  t.equal(unknown.statusCode, 401, 'unknown paths under the prefix are guarded too')
  t.equal(unknown.headers['cache-control'], 'no-store')
  const unknownAuthed = await app.inject({ method: 'GET', url: '/api/internal/tokens/only-a-user', headers: auth() })
  t.equal(unknownAuthed.statusCode, 404)
  t.equal(unknownAuthed.headers['cache-control'], 'no-store')
})

t.test('no INTERNAL_API_KEY: the route refuses everyone, the cron secret included', async (t) => {
  const { app, seed } = await setup(t, { INTERNAL_API_KEY: undefined })
  const token = await seed(60 * MINUTE)
  for (const headers of [auth(''), auth(CRON), {}]) {
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers })
    t.equal(res.statusCode, 401)
  }
})

t.test('a fresh token is handed out as stored, with an audit line naming the key by position only', async (t) => {
  const logs = new LogCapture()
  const { app, seed, reddit } = await setup(t, { LOG_LEVEL: 'info' }, { logs })
  const token = await seed(60 * MINUTE)
  const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth(KEY2) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['accessToken', 'account', 'expiresAt', 'scopes'])
  t.equal(body.accessToken, token.accessToken)
  t.same(body.account, { id: 'acct-0', username: 'name_0' })
  t.same(body.scopes, ['identity'])
  t.ok(Date.parse(body.expiresAt) > Date.now() + 50 * MINUTE)
  t.notOk(res.body.includes(token.refreshToken!), 'never the refresh token')
  t.equal(reddit.requestsTo('refresh').length, 0, 'no provider call for a fresh token')
  const audit = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'token handed out')
  t.equal(audit.length, 1)
  t.match(audit[0], { handout: { userId: token.userId, platform: 'reddit', keyIndex: 1, refreshed: false, reason: 'fresh' } })
  for (const canary of [KEY, KEY2, token.accessToken, token.refreshToken!]) t.notOk(logs.text.includes(canary), 'no key or token in the logs (info)')
})

t.test('a token expiring within TOKEN_MIN_TTL_MS is refreshed first; no secret in the debug logs', async (t) => {
  const logs = new LogCapture()
  const { app, seed, reddit, store } = await setup(t, {}, { logs })
  const token = await seed(2 * MINUTE)
  const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.not(body.accessToken, token.accessToken, 'a new access token')
  t.equal(reddit.requestsTo('refresh').length, 1)
  t.equal(reddit.timesPresented(token.refreshToken!), 1)
  const stored = await store.get({ userId: token.userId, platform: 'reddit' })
  t.equal(store.openSecrets(stored!).accessToken, body.accessToken, 'what was handed out is what is stored')
  t.equal(body.expiresAt, new Date(stored!.expiresAtMs!).toISOString())
  t.equal(stored!.claimId, undefined, 'claim released')
  const audit = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'token handed out')
  t.match(audit, { level: 30, handout: { refreshed: true, reason: 'refreshed', keyIndex: 0 } })
  const rotated = store.openSecrets(stored!).refreshToken!
  for (const canary of [KEY, KEY2, token.accessToken, token.refreshToken!, body.accessToken, rotated, ...reddit.ledger.allSecrets()]) {
    t.notOk(logs.text.includes(canary), 'no key or token in the logs (debug)')
  }
})

// REFRESH_MODE=on_demand leaves access tokens to this route: the refresh it makes must put the token
// back in the index at the grant's next deadline (the keepalive), not at the access token's expiry,
// or the next cron run would read it again for nothing.
t.test('on_demand: a refresh on use stores the keepalive deadline in the index', async (t) => {
  const { app, seed, store, clock } = await setup(t, { REDDIT_REFRESH_MODE: 'on_demand', REDDIT_KEEPALIVE_MS: String(7 * 24 * 60 * MINUTE) })
  const token = await seed(2 * MINUTE)
  clock.advance(10 * MINUTE)
  const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
  t.equal(res.statusCode, 200)
  const stored = await store.get({ userId: token.userId, platform: 'reddit' })
  t.ok(stored!.expiresAtMs! > clock.now(), 'a new access token')
  t.equal(stored!.dueAtMs, stored!.lastRefreshedAtMs! + 7 * 24 * 60 * MINUTE, 'index entry at the keepalive deadline')
})

t.test('unknown user, unknown platform and keys of the lock and state items: 404, no-store', async (t) => {
  const { app, seed, store, clock } = await setup(t)
  await seed(60 * MINUTE)
  // A state item and the lock item exist in the same table: they must never be read as connections.
  await store.saveConnection({ userId: 'oauth-state#abc', platform: 'reddit', account: { id: 'x' }, scopes: [], accessToken: 'state-CANARY', expiresAtMs: clock.now() + 60 * MINUTE })
  await store.saveConnection({ userId: 'cron', platform: 'reddit', account: { id: 'x' }, scopes: [], accessToken: 'lock-CANARY', expiresAtMs: clock.now() + 60 * MINUTE })
  const cases: Array<[string, string, string]> = [
    [url('nobody'), 'not_connected', 'unknown user'],
    [url('cron'), 'not_connected', 'the lock item key'],
    [url('cron', 'refresh-oauth'), 'not_connected', 'the lock item itself'],
    [url('oauth-state#abc'), 'not_connected', 'a state item key'],
    [url('user-0', 'myspace'), 'not_found', 'unknown platform'],
    [url('user-0', 'tiktok'), 'not_connected', 'a platform the user never connected'],
    [url('user-0', '__proto__'), 'not_found', 'a prototype key']
  ]
  for (const [path, error, what] of cases) {
    const res = await app.inject({ method: 'GET', url: path, headers: auth() })
    t.equal(res.statusCode, 404, what)
    t.same(res.json(), { ok: false, error }, what)
    t.equal(res.headers['cache-control'], 'no-store', what)
    t.notOk(res.body.includes('CANARY'), what)
  }
  const bad = await app.inject({ method: 'GET', url: url('user-0', 'reddit', '?force=maybe'), headers: auth() })
  t.equal(bad.statusCode, 400, 'a force that is not a boolean')
  t.equal(bad.headers['cache-control'], 'no-store')
})

t.test('the provider failing during an internal read', async (t) => {
  t.test('500 while the stored token is still valid: 200 with the stored token', async (t) => {
    const { app, seed, reddit } = await setup(t)
    const token = await seed(2 * MINUTE)
    reddit.failNext('refresh', { kind: 'status', status: 500 })
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
    t.equal(res.statusCode, 200)
    t.equal(res.json().accessToken, token.accessToken)
    t.equal(reddit.requestsTo('refresh').length, 1)
    // In backoff now: the next read hands out the stored token without another provider call.
    const again = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
    t.equal(again.json().accessToken, token.accessToken)
    t.equal(reddit.requestsTo('refresh').length, 1, 'backoff holds')
  })

  t.test('timeout while the stored token has expired: 503 provider_unavailable', async (t) => {
    const { app, seed, reddit, store } = await setup(t, { PROVIDER_TIMEOUT_MS: '300' })
    const token = await seed(-MINUTE)
    reddit.failNext('refresh', { kind: 'hang' })
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
    t.equal(res.statusCode, 503)
    t.same(res.json(), { ok: false, error: 'provider_unavailable' })
    t.equal(res.headers['cache-control'], 'no-store')
    const stored = await store.get({ userId: token.userId, platform: 'reddit' })
    t.match(stored, { status: 'connected', lastError: 'timeout', attempts: 1 }, 'a transient failure never disconnects')
  })

  t.test('500 while expired: 503; the store keeps the token connected', async (t) => {
    const { app, seed, reddit } = await setup(t)
    const token = await seed(-MINUTE)
    reddit.failNext('refresh', { kind: 'status', status: 500 })
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
    t.equal(res.statusCode, 503)
    t.same(res.json(), { ok: false, error: 'provider_unavailable' })
  })

  t.test('invalid_grant: 409 needs_reauth now and later, without another provider call', async (t) => {
    const { app, seed, reddit, store } = await setup(t)
    const token = await seed(2 * MINUTE)
    reddit.failNext('refresh', { kind: 'invalid_grant' })
    const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
    t.equal(res.statusCode, 409)
    t.same(res.json(), { ok: false, error: 'needs_reauth' })
    t.equal(res.headers['cache-control'], 'no-store')
    t.match(await store.get({ userId: token.userId, platform: 'reddit' }), { status: 'needs_reauth', lastError: 'invalid_grant' })
    for (const query of ['', '?force=true']) {
      const later = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', query), headers: auth() })
      t.equal(later.statusCode, 409)
    }
    t.equal(reddit.requestsTo('refresh').length, 1, 'one provider call in all')
  })
})

t.test('?force=true refreshes a fresh token once per cooldown, however often it is asked', async (t) => {
  const { app, seed, reddit, clock } = await setup(t, { INTERNAL_FORCE_COOLDOWN_MS: '30000' })
  const token = await seed(60 * MINUTE)
  const first = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '?force=true'), headers: auth() })
  t.equal(first.statusCode, 200)
  t.not(first.json().accessToken, token.accessToken, 'forced: a new token')
  const tokens = new Set<string>()
  for (let i = 0; i < 10; i++) {
    const res = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '?force=true'), headers: auth() })
    t.equal(res.statusCode, 200)
    tokens.add(res.json().accessToken)
  }
  t.same([...tokens], [first.json().accessToken], 'within the cooldown: the current token')
  t.equal(reddit.requestsTo('refresh').length, 1, 'one provider call for eleven forced reads')
  clock.advance(31_000)
  const after = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '?force=true'), headers: auth() })
  t.not(after.json().accessToken, first.json().accessToken, 'after the cooldown: refreshed again')
  t.equal(reddit.requestsTo('refresh').length, 2)
  t.same(reddit.ledger.presentedMoreThanOnce(), [], 'each refresh token presented once')
})

t.test('20 concurrent reads of one near-expiry token in one process: one provider refresh', async (t) => {
  const { app, seed, reddit } = await setup(t)
  const token = await seed(2 * MINUTE)
  reddit.latencyMs = 200
  const answers = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: url(token.userId), headers: auth() })))
  t.same(answers.map((a) => a.statusCode), Array(20).fill(200))
  const handed = new Set(answers.map((a) => a.json().accessToken))
  t.equal(handed.size, 1, 'every caller got the same token')
  t.not([...handed][0], token.accessToken)
  t.equal(reddit.requestsTo('refresh').length, 1, 'one refresh')
  t.equal(reddit.timesPresented(token.refreshToken!), 1)
  const later = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
  t.equal(later.json().accessToken, [...handed][0], 'the flight is over: a later read finds the stored token fresh')
  t.equal(reddit.requestsTo('refresh').length, 1)
})

t.test("another instance's live claim: the caller waits for its write and returns it", async (t) => {
  const { app, seed, reddit, store, clock } = await setup(t)
  const token = await seed(2 * MINUTE)
  const key = { userId: token.userId, platform: 'reddit' }
  // "Another instance" claims the token, then writes its refreshed tokens 400 ms later.
  const read = await store.get(key)
  const claim = await store.claim(read!, 'other-instance:1', 30_000)
  t.ok(claim.claimed)
  const pending = app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
  await new Promise((resolve) => setTimeout(resolve, 400))
  await store.completeRefresh(read!, 'other-instance:1', { accessToken: 'written-by-other', refreshToken: 'rt-by-other', expiresAtMs: clock.now() + 60 * MINUTE })
  const res = await pending
  t.equal(res.statusCode, 200)
  t.equal(res.json().accessToken, 'written-by-other', 'what the claim holder wrote')
  t.equal(reddit.requestsTo('refresh').length, 0, 'no second provider call')
})

t.test('a claim holder that never writes: the wait ends with the claim, the still-valid token is answered', async (t) => {
  const { app, seed, reddit, store, clock } = await setup(t)
  const token = await seed(2 * MINUTE)
  const read = await store.get({ userId: token.userId, platform: 'reddit' })
  await store.claim(read!, 'dead-instance:1', 600)
  const started = Date.now()
  const res = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
  t.equal(res.statusCode, 200)
  t.equal(res.json().accessToken, token.accessToken)
  t.ok(Date.now() - started < 5_000, 'bounded by the claim')
  t.equal(reddit.requestsTo('refresh').length, 0, 'the dead holder may have presented it: not presented again by a waiter')
  // Once the claim has lapsed, the next read refreshes.
  clock.advance(1_000)
  const next = await app.inject({ method: 'GET', url: url(token.userId), headers: auth() })
  t.not(next.json().accessToken, token.accessToken)
})

t.test('DynamoDB down: 503 store_unavailable, no-store', async (t) => {
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })
  t.teardown(() => dynamo.client.destroy())
  const app = await buildApp(t, { env: { INTERNAL_API_KEY: KEY }, dynamo })
  const res = await app.inject({ method: 'GET', url: url('user-0'), headers: auth() })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { ok: false, error: 'store_unavailable' })
  t.equal(res.headers['cache-control'], 'no-store')
})
