// Bounded concurrency over an async source, and a per-platform request cap (Reddit: 100 a minute per
// client id). Both measure time on the monotonic clock: durations, not instants.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RateLimiter {
  /** Waits for a slot; false when none frees up before `deadlineMs` (monotonic) or on abort. */
  take (deadlineMs: number, signal?: AbortSignal): Promise<boolean>
}

/** The monotonic clock a rate limiter reads and waits on (tests pass one they move by hand). */
export interface LimiterClock {
  readonly now: () => number
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
}

const REAL_CLOCK: LimiterClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => { await sleep(ms, undefined, signal === undefined ? {} : { signal }) }
}

/** At most `perMinute` starts in any 60 s window (a sliding log: exact, and `perMinute` numbers small). */
export function createRateLimiter (perMinute: number, clock: LimiterClock = REAL_CLOCK): RateLimiter {
  const { now } = clock
  const windowMs = 60_000
  const starts: number[] = []
  return {
    async take (deadlineMs, signal) {
      for (;;) {
        if (signal?.aborted === true) return false
        const t = now()
        while (starts.length > 0 && (starts[0] ?? 0) <= t - windowMs) starts.shift()
        if (starts.length < perMinute) {
          starts.push(t)
          return true
        }
        const waitMs = (starts[0] ?? t) + windowMs - t
        if (t + waitMs > deadlineMs) return false
        try {
          await clock.sleep(waitMs, signal)
        } catch {
          return false
        }
      }
    }
  }
}

/** At most `permits` callers inside `use` at once; the others wait in arrival order. */
export function createSemaphore (permits: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = Math.max(1, permits)
  const waiting: Array<() => void> = []
  return async (fn) => {
    if (free > 0) free--
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await fn()
    } finally {
      const next = waiting.shift()
      if (next === undefined) free++
      else next()
    }
  }
}

/**
 * Runs `worker` over `source` with at most `concurrency` at once. Workers pull the next item only when
 * free, so a paginated source is read no faster than it is processed (memory stays flat).
 * `shouldStop` is asked before each pull; the first error thrown by `worker` or `source` stops the
 * pulling and is rethrown once the workers in flight have finished.
 */
export async function forEachConcurrent<T> (
  source: AsyncIterable<T>, concurrency: number, worker: (item: T) => Promise<void>, shouldStop: () => boolean
): Promise<{ stopped: boolean }> {
  const iterator = source[Symbol.asyncIterator]()
  let stopped = false
  let failure: { error: unknown } | undefined
  async function lane (): Promise<void> {
    for (;;) {
      if (failure !== undefined) return
      if (shouldStop()) {
        stopped = true
        return
      }
      let next: IteratorResult<T>
      try {
        next = await iterator.next()
      } catch (error) {
        failure ??= { error }
        return
      }
      if (next.done === true) return
      try {
        await worker(next.value)
      } catch (error) {
        failure ??= { error }
        return
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane))
  // Closes the paginated source early (no further page is read).
  if ((stopped || failure !== undefined) && iterator.return !== undefined) await iterator.return(undefined).catch(() => {})
  if (failure !== undefined) throw failure.error
  return { stopped }
}
