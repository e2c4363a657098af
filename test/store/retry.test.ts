// The one retry helper: how many attempts, which errors are tried again, and the delays between.
import t from 'tap'
import { backoffDelayMs, retry } from '../../src/store/retry.js'

t.test('delays double from the base; jitter spreads them over ±50 %', async (t) => {
  const policy = { attempts: 4, baseDelayMs: 200 }
  t.same([2, 3, 4].map((n) => backoffDelayMs(policy, n)), [200, 400, 800])
  t.equal(backoffDelayMs({ ...policy, jitter: true }, 3, () => 0), 200)
  t.equal(backoffDelayMs({ ...policy, jitter: true }, 3, () => 0.999), 400 * 1.499)
  t.equal(backoffDelayMs({ attempts: 5, baseDelayMs: 0 }, 5), 0)
})

t.test('maxDelayMs caps the doubling', async (t) => {
  const policy = { attempts: Infinity, baseDelayMs: 250, maxDelayMs: 2_000 }
  t.same([2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(policy, n)), [250, 500, 1_000, 2_000, 2_000, 2_000])
})

t.test('withinMs: no pause is taken that would end past the budget', async (t) => {
  const seen: number[] = []
  const asked: number[] = []
  const boom = new Error('down')
  // Attempt 1 at ~0 ms, a 200 ms pause, attempt 2 at ~200 ms; the next pause (400 ms) would end past
  // 500 ms. (Margins wide enough for a loaded machine: attempt 1 may fail up to 300 ms late.)
  await t.rejects(retry({ attempts: Infinity, baseDelayMs: 200, withinMs: 500 }, () => { asked.push(seen.length); return true }, async (n) => { seen.push(n); throw boom }), boom)
  t.same(seen, [1, 2])
  t.same(asked, [1], 'retryable is asked only when another attempt is allowed')
})

t.test('a retryable error is tried again up to the attempts, then thrown as it is', async (t) => {
  const seen: number[] = []
  const boom = new Error('busy')
  await t.rejects(retry({ attempts: 3, baseDelayMs: 1 }, () => true, async (n) => { seen.push(n); throw boom }), boom)
  t.same(seen, [1, 2, 3])
})

t.test('another error is thrown at once; a success returns its value', async (t) => {
  let calls = 0
  const fatal = new TypeError('no')
  await t.rejects(retry({ attempts: 5, baseDelayMs: 0 }, (err) => !(err instanceof TypeError), async () => { calls++; throw fatal }), fatal)
  t.equal(calls, 1)
  t.equal(await retry({ attempts: 3, baseDelayMs: 0 }, () => true, async (n) => { if (n < 2) throw new Error('once'); return n }), 2)
})
