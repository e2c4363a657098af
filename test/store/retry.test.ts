// The one retry helper: how many attempts, which errors are tried again, and the delays between.
import t from 'tap'
import { retry, retryDelayMs } from '../../src/store/retry.js'

t.test('delays double from the base; jitter spreads them over ±50 %', async (t) => {
  const policy = { attempts: 4, baseDelayMs: 200 }
  t.same([2, 3, 4].map((n) => retryDelayMs(policy, n)), [200, 400, 800])
  t.equal(retryDelayMs({ ...policy, jitter: true }, 3, () => 0), 200)
  t.equal(retryDelayMs({ ...policy, jitter: true }, 3, () => 0.999), 400 * 1.499)
  t.equal(retryDelayMs({ attempts: 5, baseDelayMs: 0 }, 5), 0)
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
