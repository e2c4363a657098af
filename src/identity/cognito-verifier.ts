// Verifies Cognito JWTs (access or id tokens) with aws-jwt-verify: signature against the pool's JWKS,
// issuer, expiry, token_use, and the client id (`client_id` on access tokens, `aud` on id tokens).
// @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
import { CognitoJwtVerifier } from 'aws-jwt-verify'
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier'
import {
  CognitoJwtInvalidClientIdError, CognitoJwtInvalidTokenUseError, FetchError, JwtExpiredError,
  JwtInvalidIssuerError, JwtInvalidSignatureAlgorithmError, JwtInvalidSignatureError, JwtNotBeforeError,
  JwtParseError, KidNotFoundInJwksError, ParameterValidationError, WaitPeriodNotYetEndedJwkError
} from 'aws-jwt-verify/error'
import type { Fetcher } from 'aws-jwt-verify/https'
import { SimpleJwksCache } from 'aws-jwt-verify/jwk'
import { JwtVerifier } from 'aws-jwt-verify/jwt-verifier'
import type { JwtPayload } from 'aws-jwt-verify/jwt-model'

export type TokenUse = 'access' | 'id'

export interface Identity {
  /** The Cognito user's `sub`: the only user id this service ever acts for. */
  readonly userId: string
  readonly tokenUse: TokenUse
}

/** Why a token was refused, as a code safe to log (never the token, never a claim value). */
export const IDENTITY_FAILURES = {
  malformed: 'malformed',
  signature: 'bad_signature',
  algorithm: 'bad_algorithm',
  unknownKey: 'unknown_key',
  expired: 'expired',
  notYetValid: 'not_yet_valid',
  issuer: 'bad_issuer',
  clientId: 'bad_client_id',
  tokenUse: 'bad_token_use',
  subject: 'bad_subject',
  /** The JWKS could not be fetched: the token may be fine, we cannot tell. */
  jwksUnavailable: 'jwks_unavailable'
} as const
export type IdentityFailure = typeof IDENTITY_FAILURES[keyof typeof IDENTITY_FAILURES]

export class IdentityError extends Error {
  readonly reason: IdentityFailure
  constructor (reason: IdentityFailure, options?: ErrorOptions) {
    super(`identity refused: ${reason}`, options)
    this.name = 'IdentityError'
    this.reason = reason
    // The verifier's error can quote the token's claims: keep it off JSON.stringify and pino's serialisers.
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { enumerable: false, value: options.cause })
  }
}

export interface CognitoVerifierOptions {
  readonly clientId: string
  /** A real pool: the issuer is `https://cognito-idp.<region>.amazonaws.com/<poolId>` (region from the id). */
  readonly userPoolId?: string | undefined
  /** Another issuer (cognito-local, tests); wins over userPoolId. */
  readonly issuer?: string | undefined
  /** Default: `<issuer>/.well-known/jwks.json`. */
  readonly jwksUrl?: string | undefined
  readonly fetch?: typeof fetch | undefined
  readonly timeoutMs?: number | undefined
  /** The clock of the download backoff (tests). */
  readonly now?: (() => number) | undefined
}

export interface CognitoVerifier {
  /** The identity in `jwt`, or IdentityError. `expectedUse` pins token_use (a cookie named accessToken). */
  verify (jwt: string, expectedUse?: TokenUse): Promise<Identity>
}

/** A pool's JWKS is a few keys (~1–2 KiB); anything near this is not one. */
export const JWKS_MAX_BYTES = 64 * 1024
/** After a failed download, no new attempt for this long, doubling per failure up to the maximum. */
export const JWKS_BACKOFF = { firstMs: 1_000, maxMs: 60_000 } as const

/** Reads at most `maxBytes` of `response`'s body; more is an error, not a truncation. */
async function boundedBody (response: Response, maxBytes: number): Promise<ArrayBuffer> {
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > maxBytes) throw new Error('too large')
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength
    if (size > maxBytes) throw new Error('too large')
    chunks.push(chunk)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) { body.set(chunk, offset); offset += chunk.byteLength }
  return body.buffer
}

/**
 * The JWKS download through the injected fetch (the default fetcher refuses http:): a timeout, no
 * redirect followed, a size cap, and a backoff after failures, so a down host is not asked again on
 * every token with an unknown kid.
 */
function jwksFetcher (fetchImpl: typeof fetch, timeoutMs: number, now: () => number): Fetcher {
  let failures = 0
  let retryAtMs = 0
  return {
    async fetch (uri) {
      if (now() < retryAtMs) throw new FetchError(uri, 'backing off after a failed download')
      try {
        const response = await fetchImpl(uri, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers: { accept: 'application/json' } })
        if (response.status !== 200) {
          await response.body?.cancel()
          throw new Error(`status ${response.status}`)
        }
        const body = await boundedBody(response, JWKS_MAX_BYTES)
        failures = 0
        return body
      } catch (err) {
        failures++
        retryAtMs = now() + Math.min(JWKS_BACKOFF.firstMs * 2 ** (failures - 1), JWKS_BACKOFF.maxMs)
        const failed = new FetchError(uri, err instanceof Error && err.message.startsWith('status ') ? err.message : errorNameOf(err))
        // aws-jwt-verify's FetchError takes no options: the cause is attached as ErrorOptions would, unlisted.
        Object.defineProperty(failed, 'cause', { enumerable: false, value: err })
        throw failed
      }
    }
  }
}

function errorNameOf (err: unknown): string {
  if (err instanceof Error) return err.message === 'too large' ? 'too large' : err.name
  return 'unknown'
}

export function createCognitoVerifier (options: CognitoVerifierOptions): CognitoVerifier {
  const jwksCache = new SimpleJwksCache({ fetcher: jwksFetcher(options.fetch ?? globalThis.fetch, options.timeoutMs ?? 3_000, options.now ?? Date.now) })
  const clientId = options.clientId
  let verifyJwt: (jwt: string) => Promise<JwtPayload>
  if (options.issuer !== undefined) {
    // JwtVerifier takes any issuer; the Cognito claims are checked as CognitoJwtVerifier checks them.
    const issuer = options.issuer.replace(/\/+$/, '')
    const verifier = JwtVerifier.create({
      issuer,
      jwksUri: options.jwksUrl ?? `${issuer}/.well-known/jwks.json`,
      audience: null,
      customJwtCheck: ({ payload }) => { validateCognitoJwtFields(payload, { tokenUse: null, clientId }) }
    }, { jwksCache })
    verifyJwt = async (jwt) => await verifier.verify(jwt)
  } else if (options.userPoolId !== undefined) {
    const verifier = CognitoJwtVerifier.create({ userPoolId: options.userPoolId, clientId, tokenUse: null }, { jwksCache })
    verifyJwt = async (jwt) => await verifier.verify(jwt)
  } else {
    throw new Error('createCognitoVerifier needs a userPoolId or an issuer')
  }

  return {
    async verify (jwt, expectedUse) {
      let payload: JwtPayload
      try {
        payload = await verifyJwt(jwt)
      } catch (err) {
        throw new IdentityError(failureOf(err), { cause: err })
      }
      const tokenUse = payload.token_use
      if (tokenUse !== 'access' && tokenUse !== 'id') throw new IdentityError(IDENTITY_FAILURES.tokenUse)
      if (expectedUse !== undefined && tokenUse !== expectedUse) throw new IdentityError(IDENTITY_FAILURES.tokenUse)
      const sub = payload.sub
      // A sub is Cognito's UUID; anything that could name a lock or state item of the table is refused.
      if (typeof sub !== 'string' || !/^[A-Za-z0-9_.:@+-]{1,128}$/.test(sub) || sub === 'cron') {
        throw new IdentityError(IDENTITY_FAILURES.subject)
      }
      return { userId: sub, tokenUse }
    }
  }
}

function failureOf (err: unknown): IdentityFailure {
  if (err instanceof JwtExpiredError) return IDENTITY_FAILURES.expired
  if (err instanceof JwtNotBeforeError) return IDENTITY_FAILURES.notYetValid
  if (err instanceof CognitoJwtInvalidTokenUseError) return IDENTITY_FAILURES.tokenUse
  if (err instanceof CognitoJwtInvalidClientIdError) return IDENTITY_FAILURES.clientId
  if (err instanceof JwtInvalidIssuerError) return IDENTITY_FAILURES.issuer
  // CognitoJwtVerifier answers an issuer it was not configured for with a parameter error.
  if (err instanceof ParameterValidationError) return IDENTITY_FAILURES.issuer
  if (err instanceof JwtInvalidSignatureAlgorithmError) return IDENTITY_FAILURES.algorithm
  if (err instanceof JwtInvalidSignatureError) return IDENTITY_FAILURES.signature
  if (err instanceof KidNotFoundInJwksError || err instanceof WaitPeriodNotYetEndedJwkError) return IDENTITY_FAILURES.unknownKey
  if (err instanceof FetchError) return IDENTITY_FAILURES.jwksUnavailable
  if (err instanceof JwtParseError) return IDENTITY_FAILURES.malformed
  return IDENTITY_FAILURES.malformed
}
