// Every upstream call of the proxy counts against the fleet's provider budget in DynamoDB (the real
// one, src/budget/fleet-budget.ts): a provider's 429 is answered as it is and pauses the platform for
// every instance on the table, which then answer 429 rate_limited with Retry-After and call nothing;
// the cap holds over a call, its forced refresh and its retry together.
import t from 'tap'
import { generateEncryptionKey } from '../../src/store/crypto.js'
import { RedditFake } from '../fakes/reddit.js'
import { auditLines, auth, MINUTE, proxySetup } from '../helpers/proxy.js'

const retryAfterSec = (value: string | string[] | number | undefined): number => Number(value)

t.test('a provider 429 pauses the platform on both instances: 429 rate_limited with Retry-After, no upstream call', async (t) => {
  const reddit = await RedditFake.start(t)
  const env = { REDDIT_REQUESTS_PER_MINUTE: '100', TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1') }
  const a = await proxySetup(t, reddit, { env })
  const b = await proxySetup(t, reddit, { env, table: a.table })
  const token = await a.seed(60 * MINUTE)
  const url = `/api/internal/proxy/${token.userId}/reddit/api/v1/me`

  t.equal((await a.app.inject({ method: 'GET', url, headers: auth() })).statusCode, 200)

  // The provider pushes back: its 429 is answered as it is, and recorded as the fleet's pause.
  reddit.failNext('userinfo', { kind: 'rate_limited', retryAfter: '42' })
  const pushedBack = await a.app.inject({ method: 'GET', url, headers: auth() })
  t.equal(pushedBack.statusCode, 429)
  t.equal(pushedBack.headers['retry-after'], '42')

  const before = reddit.requests.length
  for (const [name, instance] of [['A', a], ['B', b]] as const) {
    for (const method of ['GET', 'POST'] as const) {
      const paused = await instance.app.inject({ method, url, headers: { ...auth(), 'content-type': 'application/json' }, ...(method === 'POST' ? { payload: '{}' } : {}) })
      t.equal(paused.statusCode, 429, `${name} ${method}`)
      t.same(paused.json(), { ok: false, error: 'rate_limited' })
      const seconds = retryAfterSec(paused.headers['retry-after'])
      t.ok(seconds >= 38 && seconds <= 42, `${name} ${method}: Retry-After ${seconds} s, the provider's 42 s less what has passed`)
      t.equal(paused.headers['cache-control'], 'no-store')
    }
  }
  t.equal(reddit.requests.length, before, 'no upstream call from either instance while paused')
  t.same(auditLines(a.logs).map((l) => l.proxy.outcome), ['answered', 'answered', 'rate_limited', 'rate_limited'])
  t.same(auditLines(b.logs).map((l) => l.proxy.outcome), ['rate_limited', 'rate_limited'])
})

t.test('the cap holds over a call, its forced refresh and its retry; past it, 429 rate_limited and nothing sent', async (t) => {
  const cap = 5
  const reddit = await RedditFake.start(t, { rotate: true })
  const { app, seed } = await proxySetup(t, reddit, { env: { REDDIT_REQUESTS_PER_MINUTE: String(cap), PROVIDER_BUDGET_WAIT_MS: '0' } })
  const token = await seed(60 * MINUTE)
  const url = `/api/internal/proxy/${token.userId}/reddit/api/v1/me`
  reddit.ledger.invalidate(token.accessToken)
  // The refused call, the forced refresh and the retry: three calls with Reddit's client id.
  t.equal((await app.inject({ method: 'GET', url, headers: auth() })).statusCode, 200)
  t.equal(reddit.requests.length, 3, 'the call, the refresh, the retry')

  const answers: number[] = []
  for (let i = 0; i < cap; i++) answers.push((await app.inject({ method: 'GET', url, headers: auth() })).statusCode)
  t.ok(reddit.requests.length <= cap, `the provider saw ${reddit.requests.length} calls, never more than the cap of ${cap}`)
  t.equal(answers.at(-1), 429, 'past the cap: rate_limited')
  t.ok(answers.every((s) => s === 200 || s === 429), `only 200s, then 429s: ${answers.join(',')}`)
  const last = await app.inject({ method: 'GET', url, headers: auth() })
  t.same(last.json(), { ok: false, error: 'rate_limited' })
  t.ok(retryAfterSec(last.headers['retry-after']) >= 1, 'with a Retry-After')
})
