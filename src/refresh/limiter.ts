// Bounded concurrency over an async source. (The request caps are the fleet's provider budget:
// src/budget, kept in DynamoDB, never in one process.)

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
