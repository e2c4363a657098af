// Random values of the connect flow: the one-time state, the PKCE verifier and its S256 challenge, and the
// browser-binding nonce kept in the cookie (only its hash is stored).
// @see https://datatracker.ietf.org/doc/html/rfc7636#section-4 (PKCE)
import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits, base64url: 43 characters. */
export function randomToken (): string {
  return randomBytes(32).toString('base64url')
}

/** The shape every value from randomToken() has; anything else is refused before a lookup. */
export function isRandomToken (value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value)
}

/** A PKCE code verifier: 43 characters from the unreserved set (RFC 7636 §4.1). */
export function randomCodeVerifier (): string {
  return randomToken()
}

/** S256: BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2). */
export function codeChallengeS256 (verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

/** What the state item keeps of the browser-binding nonce: a hash, so a table reader cannot forge the cookie. */
export function bindingHash (nonce: string): string {
  return createHash('sha256').update(`oauth-refresher/browser-binding\u0000${nonce}`).digest('base64url')
}
