// Reads a token endpoint's answer: tokens and lifetimes out of a success, a failure code out of the rest.
// Lifetimes come from each answer (`expires_in`, `refresh_expires_in`), never from constants.
// @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
import type { RefreshOutcome, TokenGrant } from './platform.js'
import { FAILURE_CODES, isDocumentedTransient, oauthErrorFailure, statusFailure, type Failure } from './oauth-errors.js'
import { jsonObject, parseRetryAfterMs, type ProviderAnswer } from './provider-http.js'

const INVALID_EXPIRES_IN = 'invalid_expires_in'

export type TokenAnswer =
  | { readonly kind: 'refreshed', readonly grant: TokenGrant, readonly warning?: string | undefined, readonly body: Record<string, unknown> }
  | Failure

/** Seconds as a positive finite number, from a number or a numeric string; else undefined. */
export function positiveSeconds (value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined
}

const nonEmpty = (value: unknown): string | undefined => typeof value === 'string' && value !== '' ? value : undefined

/** Splits a scope answer: Reddit separates with spaces, TikTok and Instagram with commas. */
export function splitScopes (value: unknown): readonly string[] | undefined {
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string' && s !== '')
  if (typeof value !== 'string') return undefined
  return value.split(/[\s,]+/).filter((s) => s !== '')
}

/**
 * Tokens out of a success body; undefined without an access token. A missing or non-positive
 * `expires_in` still yields the grant (a rotated refresh token must never be dropped), expiring now.
 */
export function grantFromBody (body: Record<string, unknown>, nowMs: number): { grant: TokenGrant, warning?: string } | undefined {
  const accessToken = nonEmpty(body.access_token)
  if (accessToken === undefined) return undefined
  const expiresIn = positiveSeconds(body.expires_in)
  const refreshExpiresIn = positiveSeconds(body.refresh_expires_in)
  const grant: TokenGrant = {
    accessToken,
    refreshToken: nonEmpty(body.refresh_token),
    expiresAtMs: expiresIn === undefined ? nowMs : nowMs + Math.round(expiresIn * 1000),
    refreshExpiresAtMs: refreshExpiresIn === undefined ? undefined : nowMs + Math.round(refreshExpiresIn * 1000),
    scopes: splitScopes(body.scope)
  }
  return expiresIn === undefined ? { grant, warning: INVALID_EXPIRES_IN } : { grant }
}

/**
 * A standard OAuth token answer → tokens or a failure. The body decides before the status: Reddit
 * answers some errors with HTTP 200, and an `invalid_grant` is permanent whatever the status.
 */
export function interpretTokenAnswer (answer: ProviderAnswer, nowMs: number, resetHeader?: string): TokenAnswer {
  const body = jsonObject(answer)
  if (body !== undefined && typeof body.error === 'string') {
    const failure = oauthErrorFailure(body.error)
    if (failure.kind === 'permanent') return failure
    // A documented retryable code names the failure best; Retry-After still counts.
    const retryAfterMs = parseRetryAfterMs(answer.headers.get('retry-after'), nowMs)
    if (isDocumentedTransient(body.error)) return retryAfterMs === undefined ? failure : { ...failure, retryAfterMs }
    if (answer.status === 429 || answer.status >= 500) return statusFailure(answer, nowMs, resetHeader)
    return failure
  }
  if (answer.status < 200 || answer.status > 299) return statusFailure(answer, nowMs, resetHeader)
  if (body === undefined) return { kind: 'transient', code: FAILURE_CODES.malformed }
  const parsed = grantFromBody(body, nowMs)
  if (parsed === undefined) return { kind: 'transient', code: FAILURE_CODES.malformed }
  return { kind: 'refreshed', grant: parsed.grant, warning: parsed.warning, body }
}

/** A token answer as the run needs it (the body stays here: it may hold more tokens). */
export function toRefreshOutcome (answer: TokenAnswer): RefreshOutcome {
  if (answer.kind !== 'refreshed') return answer
  return answer.warning === undefined ? { kind: 'refreshed', grant: answer.grant } : { kind: 'refreshed', grant: answer.grant, warning: answer.warning }
}
