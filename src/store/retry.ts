// One retry helper with one policy type, for the store's calls and those of its callers (the lock
// release at the end of a run, the refresh's write of a rotated grant). Exponential backoff, as AWS
// advises for DynamoDB: the pause before attempt n (n ≥ 2) is baseDelayMs × 2^(n-2), capped at
// maxDelayMs, scattered over ±50 % when `jitter` is set.
// @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff
import { performance } from 'node:perf_hooks'

export interface RetryPolicy {
  /** Attempts in all, the first included (Infinity: only `withinMs` ends them). */
  readonly attempts: number
  /** 0: try again at once (a conditional write that lost a race re-reads and writes again). */
  readonly baseDelayMs: number
  /** The longest pause between two attempts; unset: the pauses keep doubling. */
  readonly maxDelayMs?: number
  /** Spread the delays so that callers that failed together do not try again together. */
  readonly jitter?: boolean
  /**
   * A time budget from the first attempt, on the monotonic clock: no pause is taken that would end
   * past it (the refresh's write of a rotated grant retries only while its claim lasts).
   */
  readonly withinMs?: number
}

/** The backoff pause before attempt `attempt` (2 for the first retry). */
export function backoffDelayMs (policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const delayMs = Math.min(policy.baseDelayMs * 2 ** Math.max(0, attempt - 2), policy.maxDelayMs ?? Infinity)
  return policy.jitter === true ? delayMs * (0.5 + random()) : delayMs
}

/**
 * Runs `call(attempt)` until it returns. An error `retryable` accepts is tried again after the policy's
 * pause, within its attempts and time budget; any other error, and the last one, is thrown as it is.
 * `retryable` is asked last, only when the policy allows another attempt, so a caller may log the retry there.
 */
export async function retry<T> (
  policy: RetryPolicy, retryable: (err: unknown) => boolean, call: (attempt: number) => Promise<T>
): Promise<T> {
  const endsAt = performance.now() + (policy.withinMs ?? Infinity)
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt)
    } catch (err) {
      if (attempt >= policy.attempts) throw err
      const delayMs = backoffDelayMs(policy, attempt + 1)
      if (performance.now() + delayMs > endsAt || !retryable(err)) throw err
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
}
