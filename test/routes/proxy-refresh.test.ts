// Tokens stay fresh and dead ones are found at first use: a token near expiry is refreshed before the
// call; a provider 401 (or Graph code 190 in a 400 body) gets one forced refresh and one retry; a
// revoked grant turns the connection needs_reauth (webhook connection.needs_reauth) and every later
// call answers 409 without going upstream. No token in any answer header, log line or webhook.
import t from 'tap'
import { InstagramFake } from '../fakes/instagram.js'
import { RedditFake } from '../fakes/reddit.js'
import { TiktokFake } from '../fakes/tiktok.js'
import { ThreadsFake } from '../fakes/threads.js'
import { auditLines, auth, KEY, MINUTE, proxySetup } from '../helpers/proxy.js'
import { WebhookReceiver, webhookSecret } from '../helpers/webhook-receiver.js'

const url = (userId: string, platform: string, path: string): string => `/api/internal/proxy/${userId}/${platform}${path}`

async function until (check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 25))
}

t.test('a token expiring within TOKEN_MIN_TTL_MS is refreshed before the call, which goes out with the new one', async (t) => {
  const reddit = await RedditFake.start(t, { rotate: true })
  const { app, seed, store, logs } = await proxySetup(t, reddit)
  const token = await seed(2 * MINUTE)
  const res = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '/api/v1/me'), headers: auth() })
  t.equal(res.statusCode, 200)
  t.equal(reddit.requestsTo('refresh').length, 1)
  const stored = await store.get({ userId: token.userId, platform: 'reddit' }, true)
  const fresh = store.openSecrets(stored!).accessToken
  t.not(fresh, token.accessToken)
  t.equal(reddit.requestsTo('userinfo')[0]!.headers.authorization, `Bearer ${fresh}`, 'the call used the refreshed token')
  t.match(auditLines(logs)[0], { proxy: { refreshed: true, retried: false, upstreamStatus: 200 } })
})

t.test('a provider 401 for a token it no longer takes: one forced refresh, one retry with the new token', async (t) => {
  const reddit = await RedditFake.start(t, { rotate: true })
  const { app, seed, store, logs, clock } = await proxySetup(t, reddit)
  const token = await seed(60 * MINUTE)
  // The provider dropped this access token (the grant lives): its API answers 401.
  reddit.ledger.invalidate(token.accessToken)
  const res = await app.inject({ method: 'POST', url: url(token.userId, 'reddit', '/api/submit'), headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'sr=a&title=b&kind=self' })
  t.equal(res.statusCode, 200, 'the retry\'s answer')
  t.equal(reddit.requestsTo('refresh').length, 1, 'one refresh')
  const calls = reddit.requestsTo('publish')
  t.equal(calls.length, 2, 'the call and its one retry')
  t.equal(calls[1]!.body, 'sr=a&title=b&kind=self', 'the body sent again')
  const stored = await store.get({ userId: token.userId, platform: 'reddit' }, true)
  t.equal(calls[1]!.headers.authorization, `Bearer ${store.openSecrets(stored!).accessToken}`)
  t.equal(reddit.published.length, 1)
  t.match(auditLines(logs)[0], { proxy: { refreshed: true, retried: true, upstreamStatus: 200, outcome: 'answered' } })

  // Within the force cooldown, another 401 is answered as the provider said it: no second refresh.
  const again = await store.get({ userId: token.userId, platform: 'reddit' }, true)
  reddit.ledger.invalidate(store.openSecrets(again!).accessToken)
  const second = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '/api/v1/me'), headers: auth() })
  t.equal(second.statusCode, 401, 'the provider\'s 401 as it is')
  t.same(second.json(), { message: 'Unauthorized', error: 401 })
  t.equal(reddit.requestsTo('refresh').length, 1, 'no refresh within INTERNAL_FORCE_COOLDOWN_MS')
  t.match(auditLines(logs)[1], { proxy: { refreshed: false, retried: false, upstreamStatus: 401 } })
  // After the cooldown the next refusal refreshes again.
  clock.advance(31_000)
  const third = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '/api/v1/me'), headers: auth() })
  t.equal(third.statusCode, 200)
  t.equal(reddit.requestsTo('refresh').length, 2)
})

t.test('a retry refused again is answered as it is: one refresh per call, never two', async (t) => {
  const reddit = await RedditFake.start(t, { rotate: true })
  const { app, seed, logs } = await proxySetup(t, reddit)
  const token = await seed(60 * MINUTE)
  reddit.failNext('userinfo', { kind: 'status', status: 401 }, 2)
  const res = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '/api/v1/me'), headers: auth() })
  t.equal(res.statusCode, 401)
  t.equal(reddit.requestsTo('refresh').length, 1)
  t.equal(reddit.requestsTo('userinfo').length, 2)
  t.match(auditLines(logs)[0], { proxy: { refreshed: true, retried: true, upstreamStatus: 401 } })
})

t.test('a streamed body (over 64 KiB) is not replayed: the token is refreshed, the provider\'s 401 answered', async (t) => {
  const reddit = await RedditFake.start(t, { rotate: true })
  const { app, seed, logs } = await proxySetup(t, reddit)
  const token = await seed(60 * MINUTE)
  reddit.ledger.invalidate(token.accessToken)
  const res = await app.inject({ method: 'POST', url: url(token.userId, 'reddit', '/api/submit'), headers: { ...auth(), 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(200 * 1024, 'z') })
  t.equal(res.statusCode, 401)
  t.equal(reddit.requestsTo('refresh').length, 1, 'refreshed for the caller\'s own retry')
  t.equal(reddit.requestsTo('publish').length, 1, 'not sent twice')
  t.match(auditLines(logs)[0], { proxy: { refreshed: true, retried: false, upstreamStatus: 401 } })
  const retry = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '/api/v1/me'), headers: auth() })
  t.equal(retry.statusCode, 200, 'the next call goes out with the new token')
})

t.test('a revoked grant: needs_reauth, the webhook with the provider\'s code, 409 now and later without upstream', async (t) => {
  const receiver = await new WebhookReceiver().listen(t)
  for (const Fake of [RedditFake, TiktokFake]) {
    const fake = await Fake.start(t)
    const { app, seed, logs, store } = await proxySetup(t, fake, {
      env: { REAUTH_WEBHOOK_URL: receiver.url, REAUTH_WEBHOOK_SECRET: webhookSecret() },
      webhooks: { pollMs: 50, schedule: [300, 300] }
    })
    const token = await seed(60 * MINUTE, `${fake.platform}-user`)
    t.ok(fake.revokeAccess(token.accessToken), `${fake.platform}: the user removed the app`)
    const account = fake.platform === 'reddit' ? '/api/v1/me' : '/v2/user/info/?fields=open_id'
    const res = await app.inject({ method: 'GET', url: url(token.userId, fake.platform, account), headers: auth() })
    t.equal(res.statusCode, 409, fake.platform)
    t.same(res.json(), { ok: false, error: 'needs_reauth' })
    t.equal(res.headers['cache-control'], 'no-store')
    const stored = await store.get({ userId: token.userId, platform: fake.platform }, true)
    t.equal(stored?.status, 'needs_reauth')
    await until(() => receiver.received.some((r) => r.body.includes(token.userId)))
    const hook = receiver.received.find((r) => r.body.includes(token.userId))
    t.match(JSON.parse(hook!.body), { type: 'connection.needs_reauth', data: { userId: token.userId, platform: fake.platform, reason: 'invalid_grant' } })

    const upstreamBefore = fake.requests.length
    for (const method of ['GET', 'POST'] as const) {
      const later = await app.inject({ method, url: url(token.userId, fake.platform, account), headers: { ...auth(), 'content-type': 'application/json' }, ...(method === 'POST' ? { payload: '{}' } : {}) })
      t.equal(later.statusCode, 409)
    }
    t.equal(fake.requests.length, upstreamBefore, 'a needs_reauth connection is never sent upstream')
    t.same(auditLines(logs).map((l) => l.proxy.outcome), ['needs_reauth', 'needs_reauth', 'needs_reauth'])
    for (const canary of [token.accessToken, token.refreshToken!, KEY]) {
      t.notOk(logs.text.includes(canary), 'no token or key in any log line')
      t.notOk(receiver.received.some((r) => r.body.includes(canary) || JSON.stringify(r.headers).includes(canary)), 'nor in any webhook')
    }
  }
})

t.test('Graph code 190 in a 400 body: one refresh, one retry; a revoked Graph token (even under 24 h old) is found dead', async (t) => {
  for (const Fake of [InstagramFake, ThreadsFake]) {
    const fake = await Fake.start(t)
    const { app, seed, store, logs } = await proxySetup(t, fake)
    const me = fake.platform === 'instagram' ? '/me?fields=user_id,username' : '/v1.0/me?fields=id,username'
    const publish = fake.platform === 'instagram' ? '/me/media' : '/v1.0/me/threads'

    // The API refuses a token it would still refresh (a session the provider ended): refresh, retry.
    const token = await seed(30 * 24 * 60 * MINUTE)
    fake.failNext('userinfo', { kind: 'graph_error', code: 190 })
    const res = await app.inject({ method: 'GET', url: url(token.userId, fake.platform, me), headers: auth() })
    t.equal(res.statusCode, 200, `${fake.platform}: the retry's answer`)
    t.equal(fake.requestsTo('refresh').length, 1)
    t.equal(fake.requestsTo('userinfo').length, 2)
    const stored = await store.get({ userId: token.userId, platform: fake.platform }, true)
    t.not(store.openSecrets(stored!).accessToken, token.accessToken)

    // Another Graph error in a 400 (not 190) is the provider's answer, no refresh.
    fake.failNext('userinfo', { kind: 'graph_error', code: 100 })
    const other = await app.inject({ method: 'GET', url: url(token.userId, fake.platform, me), headers: auth() })
    t.equal(other.statusCode, 400)
    t.match(other.json(), { error: { code: 100, type: 'OAuthException' } })
    t.equal(fake.requestsTo('refresh').length, 1, 'no refresh for code 100')

    // The user removed the app: the token is refused, its refresh too (190): needs_reauth, 409.
    const young = await seed(30 * 24 * 60 * MINUTE)
    fake.revokeAccess(young.accessToken)
    const dead = await app.inject({ method: 'POST', url: url(young.userId, fake.platform, publish), headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"media_type":"TEXT","text":"hi"}' })
    t.equal(dead.statusCode, 409, `${fake.platform}: a token connected minutes ago is not held back by the 24 h rule`)
    t.equal((await store.get({ userId: young.userId, platform: fake.platform }, true))?.status, 'needs_reauth')
    t.equal(fake.published.length, 0)
    t.match(auditLines(logs).at(-1), { proxy: { outcome: 'needs_reauth', upstreamStatus: 400 } })
  }
})

t.test('a refusal is read from a small body only: a 401 with a body over 64 KiB passes as it is, no refresh', async (t) => {
  const reddit = await RedditFake.start(t)
  reddit.server.addRoute({ method: 'GET', path: '/huge-401', endpoint: () => 'huge', handle: () => ({ status: 401, headers: { 'content-type': 'text/plain' }, text: 'u'.repeat(100 * 1024) }) })
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed(60 * MINUTE)
  const res = await app.inject({ method: 'GET', url: url(token.userId, 'reddit', '/huge-401'), headers: auth() })
  t.equal(res.statusCode, 401)
  t.equal(res.body.length, 100 * 1024, 'the whole body, first part and rest')
  t.equal(reddit.requestsTo('refresh').length, 0)
})
