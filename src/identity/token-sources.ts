// Where a request carries its Cognito JWT: `Authorization: Bearer <jwt>`, or the cookies that Amplify's
// SSR adapter writes: `CognitoIdentityServiceProvider.<clientId>.<user>.accessToken|idToken`, the current
// `<user>` named by `CognitoIdentityServiceProvider.<clientId>.LastAuthUser`.
// @see https://docs.amplify.aws/nextjs/build-a-backend/server-side-rendering/
import type { TokenUse } from './cognito-verifier.js'

export interface TokenCandidate {
  readonly jwt: string
  /** The token_use the source promises (a cookie named `…accessToken` holds an access token). */
  readonly expectedUse?: TokenUse | undefined
  readonly source: 'authorization' | 'cookie'
}

const COOKIE_PREFIX = 'CognitoIdentityServiceProvider.'
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const MAX_JWT_LENGTH = 16 * 1024

/**
 * The tokens to try, best first. A Bearer header, when present, is the only candidate: a client that
 * sends one means it, and falling back to cookies would hide its mistake.
 */
export function tokenCandidates (
  authorization: string | undefined,
  cookies: Readonly<Record<string, string | undefined>>,
  clientId: string
): TokenCandidate[] {
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization)
    return match?.[1] === undefined ? [] : [{ jwt: match[1], source: 'authorization' }]
  }
  const prefix = `${COOKIE_PREFIX}${clientId}.`
  const lastAuthUser = cookies[`${prefix}LastAuthUser`]
  const candidates: Array<TokenCandidate & { readonly user: string }> = []
  for (const [name, value] of Object.entries(cookies)) {
    if (value === undefined || !name.startsWith(prefix)) continue
    const rest = name.slice(prefix.length)
    const dot = rest.lastIndexOf('.')
    if (dot <= 0) continue
    const kind = rest.slice(dot + 1)
    if (kind !== 'accessToken' && kind !== 'idToken') continue
    candidates.push({ jwt: value, expectedUse: kind === 'accessToken' ? 'access' : 'id', source: 'cookie', user: decodeUser(rest.slice(0, dot)) })
  }
  // Amplify encodes the user part of the name; LastAuthUser holds it plain (or encoded, by version).
  const current = lastAuthUser === undefined ? undefined : decodeUser(lastAuthUser)
  const users = new Set(candidates.map((c) => c.user))
  const chosen = current !== undefined
    ? candidates.filter((c) => c.user === current)
    // Without LastAuthUser, only an unambiguous set of cookies names the signed-in user.
    : users.size === 1 ? candidates : []
  // Access tokens first: they are what Amplify sends to APIs.
  return chosen
    .sort((a, b) => (a.expectedUse === 'access' ? 0 : 1) - (b.expectedUse === 'access' ? 0 : 1))
    .map(({ jwt, expectedUse, source }) => ({ jwt, expectedUse, source }))
}

/** Cheap shape check before any verification work: three base64url parts, bounded length. */
export function looksLikeJwt (value: string): boolean {
  return value.length <= MAX_JWT_LENGTH && JWT_SHAPE.test(value)
}

function decodeUser (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
