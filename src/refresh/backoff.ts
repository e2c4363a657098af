// When a token that failed transiently may be tried again: exponential in its attempts, at least what
// the provider's Retry-After asked, and never so long that a live token lapses before its next try.
export const BACKOFF = {
  baseMs: 60_000,
  maxMs: 6 * 60 * 60_000
} as const

export interface BackoffInput {
  readonly nowMs: number
  /** Attempts including the one that just failed (1 after the first failure). */
  readonly attempts: number
  readonly retryAfterMs?: number | undefined
  readonly expiresAtMs?: number | undefined
}

export function nextAttemptAtMs ({ nowMs, attempts, retryAfterMs, expiresAtMs }: BackoffInput): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 20)
  let delayMs = Math.min(BACKOFF.baseMs * 2 ** exponent, BACKOFF.maxMs)
  // A token still alive keeps at least one more try before it expires (Instagram cannot refresh an
  // expired token at all).
  if (expiresAtMs !== undefined && expiresAtMs > nowMs) delayMs = Math.min(delayMs, Math.floor((expiresAtMs - nowMs) / 2))
  // The provider's own word wins: retrying earlier only earns another 429.
  if (retryAfterMs !== undefined && retryAfterMs > delayMs) delayMs = retryAfterMs
  return nowMs + delayMs
}
