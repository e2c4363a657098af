// The connect flow's unguessable values: the one-time state and the browser-binding nonce kept in the
// flow cookie (its hash, bindingHash(), is what the state item stores). pkce.ts draws its verifiers here.
import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits, base64url: 43 characters. */
export function randomToken (): string {
  return randomBytes(32).toString('base64url')
}

/** The shape every value from randomToken() has; anything else is refused before a lookup. */
export function isRandomToken (value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value)
}

/** What the state item keeps of the browser-binding nonce: a hash, so a table reader cannot forge the cookie. */
export function bindingHash (nonce: string): string {
  return createHash('sha256').update(`oauth-refresher/browser-binding\u0000${nonce}`).digest('base64url')
}
