import t from 'tap'
import { forEachConcurrent } from '../../src/refresh/limiter.js'

async function * numbers (n: number, pulled: number[]): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    pulled.push(i)
    yield i
  }
}

t.test('forEachConcurrent never runs more than `concurrency` at once and pulls on demand', async (t) => {
  let running = 0
  let peak = 0
  const pulled: number[] = []
  const seen: number[] = []
  await forEachConcurrent(numbers(20, pulled), 4, async (i) => {
    running++
    peak = Math.max(peak, running)
    t.ok(pulled.length <= seen.length + 5, 'the source is not read ahead of the workers')
    await new Promise((resolve) => setTimeout(resolve, 5))
    seen.push(i)
    running--
  }, () => false)
  t.equal(peak, 4)
  t.same(seen.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
})

t.test('forEachConcurrent stops pulling when told, and rethrows the first failure after the lanes end', async (t) => {
  const pulled: number[] = []
  let done = 0
  const { stopped } = await forEachConcurrent(numbers(100, pulled), 2, async () => { done++ }, () => done >= 10)
  t.equal(stopped, true)
  t.ok(pulled.length <= 12)

  let finished = 0
  await t.rejects(forEachConcurrent(numbers(10, []), 3, async (i) => {
    if (i === 1) throw new Error('boom')
    await new Promise((resolve) => setTimeout(resolve, 20))
    finished++
  }, () => false), { message: 'boom' })
  t.ok(finished >= 2, 'the lanes in flight finished before the error surfaced')
})

t.test('createSemaphore lets `permits` callers in at once, the others in arrival order', async (t) => {
  const { createSemaphore } = await import('../../src/refresh/limiter.js')
  const use = createSemaphore(2)
  let inside = 0
  let peak = 0
  const order: number[] = []
  await Promise.all(Array.from({ length: 6 }, async (_, i) => await use(async () => {
    inside++
    peak = Math.max(peak, inside)
    order.push(i)
    await new Promise((resolve) => setTimeout(resolve, 10))
    inside--
  })))
  t.equal(peak, 2)
  t.same(order, [0, 1, 2, 3, 4, 5])
  await t.rejects(use(async () => { throw new Error('x') }))
  t.equal(await use(async () => 7), 7, 'a failure gives its permit back')
})
