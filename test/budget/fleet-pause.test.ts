// A 429 with Retry-After: 20 seen by one of two instances pauses Reddit for both, on one virtual clock
// (two-instances.test.ts says how): no call for 20 s, reads of expired tokens answer 503 with a
// Retry-After counting down, the cron defers instead of failing, and calls resume after the pause.
import t from 'tap'
import { fleet } from '../helpers/budget-fleet.js'

const CRON = { 'x-cron-secret': 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc' }
const INTERNAL = { authorization: 'Bearer internal-7NwK3qZt8VbR1xMf5LyP2hGd9sJ' }

t.test('a 429 with Retry-After: 20 seen by one instance: no call from either for 20 s', async (t) => {
  const { s, reddit, apps, calls } = await fleet(t, 60)
  const [a, b] = apps
  if (a === undefined || b === undefined) throw new Error('two apps')
  reddit.failNext('refresh', { kind: 'rate_limited', retryAfter: '20' })
  const first = await a.inject({ url: '/api/internal/tokens/user-0/reddit', headers: INTERNAL })
  t.equal(first.statusCode, 503)
  const pushedBackAt = s.clock.now()
  t.equal(calls.length, 1)
  // The clock is wall time plus what the test adds: slow answers move it too, so time is read, not counted.
  let user = 1
  for (let elapsedMs = 0; elapsedMs < 18_000; elapsedMs = s.clock.now() - pushedBackAt) {
    const res = await Promise.all([a, b].map(async (app) => await app.inject({ url: `/api/internal/tokens/user-${user++}/reddit`, headers: INTERNAL })))
    const leftS = Math.ceil((pushedBackAt + 20_000 - s.clock.now()) / 1000)
    for (const r of res) {
      t.equal(r.statusCode, 503)
      t.ok(Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= leftS + 1, `Retry-After ${String(r.headers['retry-after'])} with ${leftS} s of pause left`)
    }
    s.clock.advance(1_000)
  }
  const cron = await b.inject({ url: '/api/cron/refresh-oauth?wait=true', headers: CRON })
  t.match(cron.json(), { failed: 0 }, 'paused work is deferred, never a token\'s failure')
  t.ok((cron.json() as { deferred: number }).deferred > 0)
  t.equal(calls.length, 1, 'no call from either instance during the pause')
  s.clock.advance(pushedBackAt + 20_500 - s.clock.now())
  const after = await b.inject({ url: '/api/internal/tokens/user-59/reddit', headers: INTERNAL })
  t.equal(after.statusCode, 200, 'the pause ended: calls go again')
  t.equal(calls.length, 2)
})
