// Two instances of the app on one table under a low Reddit cap (20 a minute), on one virtual clock
// (the apps' injected clock; the fake provider's requests are stamped with it), so that minutes of
// traffic run in seconds while every 60 s window is the real definition. Cron calls on both, internal
// reads of expired tokens on both: the provider never sees more than the cap, the cron stays within
// its share, a 429 pauses both, and nothing answers 5xx but a 503 with Retry-After.
import t from 'tap'
import { fleet, peakPerMinute } from '../helpers/budget-fleet.js'

const CRON = { 'x-cron-secret': 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc' }
const INTERNAL = { authorization: 'Bearer internal-7NwK3qZt8VbR1xMf5LyP2hGd9sJ' }
const CAP = 20

t.test('two instances, cron calls and internal reads of expired tokens on both: the cap holds, only 503 + Retry-After', async (t) => {
  const { s, apps, calls } = await fleet(t, 100)
  const statuses = new Map<number, number>()
  let missingRetryAfter = 0
  let user = 0
  for (let step = 0; step < 30; step++) { // 2.5 virtual minutes, 5 s a step
    const requests = apps.flatMap((app, i) => [
      app.inject({ url: `/api/internal/tokens/user-${user++ % 100}/reddit`, headers: INTERNAL }),
      app.inject({ url: `/api/internal/tokens/user-${user++ % 100}/reddit`, headers: INTERNAL }),
      ...(step % 2 === i ? [app.inject({ url: '/api/cron/refresh-oauth?wait=true', headers: CRON })] : [])
    ])
    for (const res of await Promise.all(requests)) {
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode === 503 && res.headers['retry-after'] === undefined) missingRetryAfter++
    }
    s.clock.advance(5_000)
  }
  const peak = peakPerMinute(calls)
  t.ok(peak <= CAP + 1, `most refreshes the provider saw in any 60 s: ${peak} (cap ${CAP}, one of tolerance)`)
  t.ok(calls.length >= 2 * CAP, `the cap was used: ${calls.length} refreshes in 2.5 min`)
  const fiveHundreds = [...statuses.entries()].filter(([code]) => code >= 500 && code !== 503)
  t.same(fiveHundreds, [], `statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok((statuses.get(503) ?? 0) > 0, 'demand beyond the cap met 503s')
  t.equal(missingRetryAfter, 0, 'every 503 carries Retry-After')
})

t.test('the cron alone stays within its share (half the cap) on both instances; ?wait=true answers', async (t) => {
  const { s, apps, calls } = await fleet(t, 80)
  let deferred = 0
  for (let step = 0; step < 18; step++) { // 1.5 virtual minutes
    const started = Date.now()
    const res = await apps[step % 2]?.inject({ url: '/api/cron/refresh-oauth?wait=true', headers: CRON })
    t.equal(res?.statusCode, 200)
    t.ok(Date.now() - started < 10_000, 'a run under the cap defers instead of waiting for room: the call answers')
    deferred += (res?.json() as { deferred: number }).deferred
    s.clock.advance(5_000)
  }
  const peak = peakPerMinute(calls)
  t.ok(peak <= CAP / 2 + 1, `the cron's most in any 60 s: ${peak} (share ${CAP / 2})`)
  t.ok(peak >= CAP / 2 - 1, 'and it uses its share')
  t.ok(deferred > 0, `what did not fit was deferred (${deferred}), not failed`)
})
