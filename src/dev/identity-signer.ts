// The development stand-in for a Cognito user pool's signing: one RS256 key pair made when the service
// starts and held in memory only (no private key on disk; a restart signs everyone out, which a click
// on "sign in" undoes), its public half as a JWKS, and Cognito-shaped ID and access tokens for a test
// user. Only registered in development (src/app.ts); production refuses an issuer under /dev/identity.
// @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'

export const DEV_TOKEN_LIFETIME_SEC = 3600
/** A test user's name: what the sign-in form accepts, and the tail of its `sub`. */
export const TEST_USER_NAME = /^[a-z0-9_-]{1,32}$/

export interface DevSignerOptions {
  readonly issuer: string
  readonly clientId: string
  readonly now?: (() => number) | undefined
}

export interface Jwks { readonly keys: ReadonlyArray<Record<string, string>> }

export interface DevSigner {
  readonly issuer: string
  readonly jwks: Jwks
  /** `dev-<name>`: the `sub` (and so the user id of the store) of a test user. */
  subjectOf (name: string): string
  accessToken (name: string): string
  idToken (name: string): string
}

const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function createDevSigner (options: DevSignerOptions): DevSigner {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>
  // The kid names the key (a restart makes a new one, which the verifier's cache sees as unknown).
  const kid = `dev-${createHash('sha256').update(String(jwk.n)).digest('hex').slice(0, 16)}`
  const now = options.now ?? Date.now
  const issuer = options.issuer.replace(/\/+$/, '')
  const subjectOf = (name: string): string => {
    if (!TEST_USER_NAME.test(name)) throw new Error('a test user name is 1 to 32 of a-z 0-9 _ -')
    return `dev-${name}`
  }

  function mint (tokenUse: 'access' | 'id', name: string, key: KeyObject): string {
    const sub = subjectOf(name)
    const iat = Math.floor(now() / 1000)
    const common = { sub, iss: issuer, token_use: tokenUse, auth_time: iat, iat, exp: iat + DEV_TOKEN_LIFETIME_SEC, jti: randomUUID() }
    const claims = tokenUse === 'access'
      ? { ...common, client_id: options.clientId, scope: 'aws.cognito.signin.user.admin', username: name }
      : { ...common, aud: options.clientId, 'cognito:username': name }
    const signingInput = `${part({ alg: 'RS256', kid, typ: 'JWT' })}.${part(claims)}`
    return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`
  }

  return {
    issuer,
    jwks: { keys: [{ kty: String(jwk.kty), n: String(jwk.n), e: String(jwk.e), kid, alg: 'RS256', use: 'sig' }] },
    subjectOf,
    accessToken: (name) => mint('access', name, privateKey),
    idToken: (name) => mint('id', name, privateKey)
  }
}
