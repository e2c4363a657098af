// Constant-time matching of a presented secret against a list of configured ones (the cron secrets,
// the internal API keys). Framework-free: the guards of both scopes use it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Both sides are reduced to an HMAC under a per-process random key before timingSafeEqual: equal
 * lengths whatever was sent (a 100 KB header or an empty one), and nothing about a secret's length
 * or prefix leaks through the comparison's timing. Answers the position of the matching secret, or -1.
 */
export function createSecretIndexer (secrets: readonly string[]): (candidate: string) => number {
  const key = randomBytes(32)
  const digest = (value: string): Buffer => createHmac('sha256', key).update(value, 'utf8').digest()
  const expected = secrets.map(digest)
  return (candidate) => {
    const presented = digest(candidate)
    let found = -1
    // No early exit: every secret is compared, so rotation lists do not leak which one matched.
    expected.forEach((secret, index) => {
      if (timingSafeEqual(secret, presented) && found === -1) found = index
    })
    return found
  }
}

/** Whether `candidate` is any of `secrets` (see createSecretIndexer). */
export function createSecretMatcher (secrets: readonly string[]): (candidate: string) => boolean {
  const indexOf = createSecretIndexer(secrets)
  return (candidate) => indexOf(candidate) !== -1
}
