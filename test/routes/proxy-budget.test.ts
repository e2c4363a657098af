// Every upstream call of the proxy asks the provider budget first and shows it the answer: while the
// platform is paused, 429 rate_limited with Retry-After and no upstream call; a provider 429 is shown
// to the budget (which pauses the fleet) and answered as it is. The budget here is the interface's
// (src/budget/provider-budget.ts), injected with a pause the test sets.
import t from 'tap'
import type { BudgetDecision, ProviderBudget } from '../../src/budget/provider-budget.js'
import { RedditFake } from '../fakes/reddit.js'
import { auditLines, auth, MINUTE, proxySetup } from '../helpers/proxy.js'

class PausableBudget implements ProviderBudget {
  readonly taken: string[] = []
  readonly observed: Array<{ platform: string, status: number, retryAfter: string | null, remaining: string | null }> = []
  pausedForMs: number | undefined
  async take (platform: string, priority: string): Promise<BudgetDecision> {
    this.taken.push(`${platform}:${priority}`)
    return this.pausedForMs === undefined ? { ok: true } : { ok: false, reason: 'paused', retryAfterMs: this.pausedForMs }
  }

  async observe (platform: string, answer: { status: number, headers: Headers }): Promise<void> {
    this.observed.push({ platform, status: answer.status, retryAfter: answer.headers.get('retry-after'), remaining: answer.headers.get('x-ratelimit-remaining') })
  }
}

t.test('paused: 429 rate_limited with Retry-After, no upstream call; every call takes a slot and shows its answer', async (t) => {
  const reddit = await RedditFake.start(t)
  const budget = new PausableBudget()
  const { app, seed, logs } = await proxySetup(t, reddit, { budget })
  const token = await seed(60 * MINUTE)
  const url = `/api/internal/proxy/${token.userId}/reddit/api/v1/me`

  const ok = await app.inject({ method: 'GET', url, headers: auth() })
  t.equal(ok.statusCode, 200)
  t.same(budget.taken, ['reddit:on_use'], 'a slot taken before the call, as a call on use')
  t.match(budget.observed, [{ platform: 'reddit', status: 200 }], 'the answer shown to the budget')

  // The provider pushes back: its 429 is answered as it is and shown to the budget.
  reddit.failNext('userinfo', { kind: 'rate_limited', retryAfter: '42' })
  const pushedBack = await app.inject({ method: 'GET', url, headers: auth() })
  t.equal(pushedBack.statusCode, 429)
  t.equal(pushedBack.headers['retry-after'], '42')
  t.match(budget.observed.at(-1), { status: 429, retryAfter: '42' })

  // The budget pauses the platform: no call goes out, the caller learns when to come back.
  budget.pausedForMs = 41_500
  const before = reddit.requests.length
  for (const method of ['GET', 'POST'] as const) {
    const paused = await app.inject({ method, url, headers: { ...auth(), 'content-type': 'application/json' }, ...(method === 'POST' ? { payload: '{}' } : {}) })
    t.equal(paused.statusCode, 429, method)
    t.same(paused.json(), { ok: false, error: 'rate_limited' })
    t.equal(paused.headers['retry-after'], '42', 'Retry-After in whole seconds, rounded up')
    t.equal(paused.headers['cache-control'], 'no-store')
  }
  t.equal(reddit.requests.length, before, 'no upstream call while paused')
  t.same(auditLines(logs).map((l) => l.proxy.outcome), ['answered', 'answered', 'rate_limited', 'rate_limited'])
})

t.test('the retry after a refused token takes a slot of its own; paused by then, it is not sent', async (t) => {
  const reddit = await RedditFake.start(t, { rotate: true })
  const budget = new PausableBudget()
  const { app, seed } = await proxySetup(t, reddit, { budget })
  const token = await seed(60 * MINUTE)
  reddit.ledger.invalidate(token.accessToken)
  const res = await app.inject({ method: 'GET', url: `/api/internal/proxy/${token.userId}/reddit/api/v1/me`, headers: auth() })
  t.equal(res.statusCode, 200)
  t.equal(budget.taken.length, 2, 'the call and its retry: two slots')
  t.same(budget.observed.map((o) => o.status), [401, 200])

  const other = await seed(60 * MINUTE)
  reddit.ledger.invalidate(other.accessToken)
  // Pause as soon as the first call's answer is seen: the retry must not go out.
  const observe = budget.observe.bind(budget)
  budget.observe = async (platform, answer) => { await observe(platform, answer); budget.pausedForMs = 5_000 }
  const paused = await app.inject({ method: 'GET', url: `/api/internal/proxy/${other.userId}/reddit/api/v1/me`, headers: auth() })
  t.equal(paused.statusCode, 429)
  t.equal(paused.headers['retry-after'], '5')
  t.equal(reddit.requestsTo('userinfo').length, 3, 'the second call went out once; its retry never did')
})
