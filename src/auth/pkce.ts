// PKCE for the connect flow: the code verifier kept in the state item, and its S256 challenge sent
// with the authorize URL.
// @see https://datatracker.ietf.org/doc/html/rfc7636#section-4
import { createHash } from 'node:crypto'
import { randomToken } from './random-token.js'

/** A PKCE code verifier: 43 characters from the unreserved set (RFC 7636 §4.1). */
export function randomCodeVerifier (): string {
  return randomToken()
}

/** S256: BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2). */
export function codeChallengeS256 (verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}
