// /api/internal/proxy/:userId/:platform/<path> over inject and a fake Reddit on DynamoDB Local: the
// guard's refusals, what is sent upstream and what comes back, the account and the write endpoints,
// unknown users and platforms, and the audit line — never a token, a query or a body in a log line.
import t from 'tap'
import { RedditFake } from '../fakes/reddit.js'
import { auditLines, auth, CRON, KEY, KEY2, proxySetup } from '../helpers/proxy.js'

const proxyUrl = (userId: string, path: string, platform = 'reddit'): string => `/api/internal/proxy/${encodeURIComponent(userId)}/${platform}${path}`

t.test('the guard: only a configured key as Bearer passes; every refusal is one no-store 401 and nothing goes upstream', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  const refusals: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['a wrong key', auth('internal-key-wrong-0123456789')],
    ['the keys joined', auth(`${KEY},${KEY2}`)],
    ['the keys joined without comma', auth(`${KEY}${KEY2}`)],
    ['the cron secret', auth(CRON)],
    ['the cron secret as x-cron-secret', { 'x-cron-secret': CRON }],
    ['the key as x-cron-secret', { 'x-cron-secret': KEY }],
    ['the key without Bearer', { authorization: KEY }],
    ['the user\'s own access token', auth(token.accessToken)],
    ['a user JWT', auth('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTAifQ.c2lnbmF0dXJl')]
  ]
  for (const method of ['GET', 'POST', 'DELETE'] as const) {
    for (const [what, headers] of refusals) {
      const res = await app.inject({ method, url: proxyUrl(token.userId, '/api/v1/me'), headers, ...(method === 'POST' ? { payload: 'a=1' } : {}) })
      t.equal(res.statusCode, 401, `${method} ${what}`)
      t.same(res.json(), { ok: false, error: 'unauthorized' })
      t.equal(res.headers['cache-control'], 'no-store')
    }
  }
  t.equal(reddit.requests.length, 0, 'nothing reached the provider')
})

t.test('the account endpoint as the user: the provider sees the user\'s token, our User-Agent, and nothing of the caller\'s', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, seed, logs } = await proxySetup(t, reddit, { env: { PROVIDER_USER_AGENT: 'web:huntaze-oauth-refresher:v1 (by /u/huntaze)' } })
  const token = await seed()
  const res = await app.inject({
    method: 'GET',
    url: proxyUrl(token.userId, '/api/v1/me?raw_json=1&q=secret-query-CANARY'),
    headers: {
      ...auth(KEY2),
      cookie: 'session=CANARY-COOKIE',
      'user-agent': 'caller-agent',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-host': 'evil.example',
      forwarded: 'for=10.0.0.1;host=evil.example',
      connection: 'keep-alive, x-hop',
      'x-hop': 'hop-by-hop CANARY',
      'proxy-authorization': 'Basic CANARY',
      te: 'trailers',
      accept: 'application/json',
      'x-custom': 'CANARY-CUSTOM'
    }
  })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { id: 'acct-0', name: 'name_0', is_employee: false, created_utc: 1_500_000_000 })
  const seen = reddit.requestsTo('userinfo')
  t.equal(seen.length, 1)
  const upstream = seen[0]!
  t.equal(upstream.headers.authorization, `Bearer ${token.accessToken}`, 'the user\'s token, the way the provider wants it')
  t.equal(upstream.headers['user-agent'], 'web:huntaze-oauth-refresher:v1 (by /u/huntaze)', 'the service\'s own User-Agent')
  t.same(upstream.query, { raw_json: '1', q: 'secret-query-CANARY' }, 'the query as the caller sent it')
  t.equal(upstream.headers.accept, 'application/json')
  for (const name of ['cookie', 'x-forwarded-for', 'x-forwarded-host', 'forwarded', 'x-hop', 'proxy-authorization', 'te', 'x-custom']) {
    t.equal(upstream.headers[name], undefined, `${name} not forwarded`)
  }
  t.equal(upstream.headers.host, new URL(reddit.url).host, 'the host is the configured API\'s')
  t.notOk(JSON.stringify(res.headers).includes(token.accessToken), 'no token in any answer header')

  const [line] = auditLines(logs)
  t.match(line, { proxy: { userId: token.userId, platform: 'reddit', method: 'GET', path: '/api/v1/me', upstreamStatus: 200, outcome: 'answered', keyIndex: 1, refreshed: false, retried: false } })
  t.type(line!.proxy.durationMs, 'number')
  t.equal(auditLines(logs).length, 1, 'one line per proxied call')
  for (const canary of [token.accessToken, token.refreshToken!, KEY, KEY2, 'secret-query-CANARY', 'CANARY-COOKIE']) {
    t.notOk(logs.text.includes(canary), `no ${canary.slice(0, 12)}… in any log line`)
  }
})

t.test('a write: the body and its content-type go upstream; the provider\'s answer comes back', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, seed, logs } = await proxySetup(t, reddit)
  const token = await seed()
  const form = 'sr=test&kind=self&title=Hello&text=body-CANARY'
  const res = await app.inject({ method: 'POST', url: proxyUrl(token.userId, '/api/submit'), headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' }, payload: form })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(body.json.errors, [])
  t.match(body.json.data, { name: /^t3_/ })
  t.equal(reddit.published.length, 1)
  t.equal(reddit.published[0]!.body, form, 'the body went through unchanged')
  t.equal(reddit.published[0]!.userId, 'acct-0', 'as the user')
  t.equal(reddit.requestsTo('publish')[0]!.headers['content-type'], 'application/x-www-form-urlencoded')
  t.notOk(logs.text.includes('body-CANARY'), 'no body in any log line')
  t.match(auditLines(logs)[0], { proxy: { method: 'POST', path: '/api/submit', upstreamStatus: 200 } })
})

t.test('unknown user, unknown platform, a lock or state item: no upstream call', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, logs } = await proxySetup(t, reddit)
  const cases: Array<[string, string, number, string]> = [
    ['unknown user', proxyUrl('nobody', '/api/v1/me'), 404, 'not_connected'],
    ['unknown platform', proxyUrl('nobody', '/api/v1/me', 'myspace'), 404, 'not_found'],
    ['prototype key as platform', proxyUrl('nobody', '/x', '__proto__'), 404, 'not_found'],
    ['the cron lock item', proxyUrl('cron', '/x', 'refresh-oauth'), 404, 'not_found'],
    ['a state item', proxyUrl('oauth-state#abc', '/api/v1/me'), 404, 'not_connected']
  ]
  for (const [what, url, status, error] of cases) {
    const res = await app.inject({ method: 'GET', url, headers: auth() })
    t.equal(res.statusCode, status, what)
    t.same(res.json(), { ok: false, error }, what)
    t.equal(res.headers['cache-control'], 'no-store', what)
  }
  t.equal(reddit.requests.length, 0)
  t.equal(auditLines(logs).length, cases.length, 'every call has its audit line')
})
