// One retry helper with one policy type, for the store's calls and those of its callers (the lock
// release at the end of a run). Exponential backoff, as AWS advises for DynamoDB: the delay before
// attempt n (n ≥ 2) is baseDelayMs × 2^(n-2), scattered over ±50 % when `jitter` is set.
// @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number
  /** 0: try again at once (a conditional write that lost a race re-reads and writes again). */
  readonly baseDelayMs: number
  /** Spread the delays so that callers that failed together do not try again together. */
  readonly jitter?: boolean
}

/** The delay before attempt `attempt` (2 for the first retry). */
export function retryDelayMs (policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const delayMs = policy.baseDelayMs * 2 ** Math.max(0, attempt - 2)
  return policy.jitter === true ? delayMs * (0.5 + random()) : delayMs
}

/**
 * Runs `call(attempt)` until it returns. An error `retryable` accepts is tried again after the policy's
 * delay, up to its attempts; any other error, and the last one, is thrown as it is.
 */
export async function retry<T> (
  policy: RetryPolicy, retryable: (err: unknown) => boolean, call: (attempt: number) => Promise<T>
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt)
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err)) throw err
      const delayMs = retryDelayMs(policy, attempt + 1)
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
}
