// Remembers tokens already verified, so a client calling several times with the same JWT pays for one
// RS256 verification, not one per request (the bench showed /status spending its time there).
// Only successes are kept, by SHA-256 of the token (the token itself is not held), until the earlier of
// the token's `exp` and `maxAgeMs` (a key removed from the JWKS stops working within that time).
import { createHash } from 'node:crypto'
import { IdentityError, IDENTITY_FAILURES, type CognitoVerifier, type Identity } from './cognito-verifier.js'

export interface VerifiedCacheOptions {
  readonly maxEntries?: number | undefined
  readonly maxAgeMs?: number | undefined
  readonly now?: (() => number) | undefined
}

/** `exp` (epoch ms) of a token whose signature was just verified; undefined if it has none. */
function expiryMsOf (jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined
  } catch {
    return undefined
  }
}

export function cacheVerified (inner: CognitoVerifier, options: VerifiedCacheOptions = {}): CognitoVerifier {
  const maxEntries = options.maxEntries ?? 10_000
  const maxAgeMs = options.maxAgeMs ?? 60_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { readonly identity: Identity, readonly untilMs: number }>()
  return {
    async verify (jwt, expectedUse) {
      const key = createHash('sha256').update(jwt).digest('base64url')
      const hit = entries.get(key)
      const nowMs = now()
      if (hit !== undefined && hit.untilMs > nowMs) {
        if (expectedUse !== undefined && hit.identity.tokenUse !== expectedUse) throw new IdentityError(IDENTITY_FAILURES.tokenUse)
        return hit.identity
      }
      if (hit !== undefined) entries.delete(key)
      const identity = await inner.verify(jwt, expectedUse)
      const expMs = expiryMsOf(jwt)
      if (expMs !== undefined) {
        // Oldest first out: a Map iterates in insertion order.
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value ?? '')
        entries.set(key, { identity, untilMs: Math.min(expMs, nowMs + maxAgeMs) })
      }
      return identity
    }
  }
}
