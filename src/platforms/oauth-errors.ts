// Turns what a provider answered (or failed to answer) into our stable failure codes, and the
// connect flow's ProviderError. Only codes travel: never a provider body, a token or a URL.
// @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 (OAuth error codes)
import { parseRetryAfterMs, ProviderTransportError, type ProviderAnswer } from './provider-http.js'

/** OAuth `error` values that mean this grant is dead: only these ever mark a token needs_reauth. */
const PERMANENT_OAUTH_ERRORS = ['invalid_grant', 'invalid_client', 'unauthorized_client'] as const

/** OAuth `error` values the provider documents as retryable (RFC 6749 §4.1.2.1). */
const TRANSIENT_OAUTH_ERRORS = ['server_error', 'temporarily_unavailable'] as const

export const FAILURE_CODES = {
  network: 'network',
  timeout: 'timeout',
  rateLimited: 'rate_limited',
  http5xx: 'http_5xx',
  http4xx: 'http_4xx',
  http3xx: 'http_3xx',
  malformed: 'malformed_response',
  providerError: 'provider_error',
  missingRefreshToken: 'missing_refresh_token',
  /** Not the provider's doing: a Graph platform configured without its long-lived exchange URL. */
  noExchangeUrl: 'no_exchange_url'
} as const

/** Our failure codes: FAILURE_CODES, an OAuth `error` we keep (`invalid_grant`, `oauth_<x>`), `graph_<n>`. */
export type FailureCode =
  | typeof FAILURE_CODES[keyof typeof FAILURE_CODES]
  | typeof PERMANENT_OAUTH_ERRORS[number]
  | typeof TRANSIENT_OAUTH_ERRORS[number]
  | `oauth_${string}`
  | `graph_${number}`

export type Failure =
  | { readonly kind: 'transient', readonly code: FailureCode, readonly retryAfterMs?: number | undefined }
  | { readonly kind: 'permanent', readonly code: FailureCode }

const isPermanentOAuthError = (error: string): error is typeof PERMANENT_OAUTH_ERRORS[number] =>
  (PERMANENT_OAUTH_ERRORS as readonly string[]).includes(error)

/** server_error / temporarily_unavailable: the provider says "try again". */
export function isDocumentedTransient (error: string): error is typeof TRANSIENT_OAUTH_ERRORS[number] {
  return (TRANSIENT_OAUTH_ERRORS as readonly string[]).includes(error)
}

const transient = (code: FailureCode, retryAfterMs?: number): Failure =>
  retryAfterMs === undefined ? { kind: 'transient', code } : { kind: 'transient', code, retryAfterMs }

/** An OAuth `error` string → failure. Unknown values stay transient: a doubt never disconnects an account. */
export function oauthErrorFailure (error: string): Failure {
  if (isPermanentOAuthError(error)) return { kind: 'permanent', code: error }
  if (isDocumentedTransient(error)) return transient(error)
  // Keep a provider's code only when it looks like one (it reaches logs and the item's lastError).
  return transient(/^[a-z][a-z0-9_]{0,40}$/.test(error) ? `oauth_${error}` : FAILURE_CODES.providerError)
}

/**
 * A non-2xx status without a recognised error body: 429 / 5xx honour Retry-After. A provider that
 * announces a 429's end in a header of its own names it (`resetHeader`, Reddit's x-ratelimit-reset).
 */
export function statusFailure (answer: ProviderAnswer, nowMs: number, resetHeader?: string): Failure {
  const retryAfterMs = parseRetryAfterMs(answer.headers.get('retry-after'), nowMs) ??
    (answer.status === 429 && resetHeader !== undefined ? parseRetryAfterMs(answer.headers.get(resetHeader), nowMs) : undefined)
  if (answer.status === 429) return transient(FAILURE_CODES.rateLimited, retryAfterMs)
  if (answer.status >= 500) return transient(FAILURE_CODES.http5xx, retryAfterMs)
  if (answer.status >= 400) return transient(FAILURE_CODES.http4xx)
  return transient(answer.status >= 300 ? FAILURE_CODES.http3xx : FAILURE_CODES.malformed)
}

/** A thrown error from a request → failure; anything but a transport error is a malformed answer. */
export function thrownFailure (err: unknown): Failure {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof ProviderTransportError) return transient(e.code)
  }
  return transient(FAILURE_CODES.malformed)
}

export const PROVIDER_ERROR_CODES = {
  exchangeFailed: 'exchange_failed',
  providerUnavailable: 'provider_unavailable',
  accessDenied: 'access_denied'
} as const
export type ProviderErrorCode = typeof PROVIDER_ERROR_CODES[keyof typeof PROVIDER_ERROR_CODES]

/**
 * A connect-flow failure (code exchange, long-lived exchange, account lookup). `code` is the callback's
 * `error=` value; `reason` is the finer failure code for logs. The message never holds provider data.
 */
export class ProviderError extends Error {
  readonly code: ProviderErrorCode
  readonly reason: FailureCode
  constructor (code: ProviderErrorCode, reason: FailureCode, step: string, options?: ErrorOptions) {
    super(`${step} failed: ${reason}`, options)
    this.name = 'ProviderError'
    this.code = code
    this.reason = reason
    // A transport error can carry the request (its URL's query holds codes and tokens): keep it unlisted.
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { enumerable: false, value: options.cause })
  }

  /**
   * Outages (`outageCodes`: network, timeout, 5xx, 429, server_error…, and a wire's own such as
   * Graph's) are provider_unavailable; the rest exchange_failed.
   */
  static fromFailure (failure: Failure, step: string, outageCodes: ReadonlySet<string> = OUTAGE_CODES, options?: ErrorOptions): ProviderError {
    const unavailable = failure.kind === 'transient' && outageCodes.has(failure.code)
    return new ProviderError(unavailable ? PROVIDER_ERROR_CODES.providerUnavailable : PROVIDER_ERROR_CODES.exchangeFailed, failure.code, step, options)
  }
}

/** The transient codes that mean the provider is down or busy, not that it refused us. */
export const OUTAGE_CODES: ReadonlySet<string> = new Set([
  FAILURE_CODES.network, FAILURE_CODES.timeout, FAILURE_CODES.rateLimited, FAILURE_CODES.http5xx,
  ...TRANSIENT_OAUTH_ERRORS
])
