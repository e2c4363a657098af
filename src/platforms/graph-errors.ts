// Meta Graph (Instagram, Threads) answers → our failure codes. Graph errors are `{error:{message,type,code,…}}`;
// the Instagram token endpoint also answers `{error_type, code, error_message}`.
// @see https://developers.facebook.com/docs/graph-api/guides/error-handling
import { FAILURE_CODES, OUTAGE_CODES, statusFailure, type Failure } from './oauth-errors.js'
import type { ApiTokenRefusal } from './platform.js'
import { jsonObject, type ProviderAnswer } from './provider-http.js'

/** Graph code 190: the access token is invalid or expired — the only permanent Graph answer. */
const GRAPH_PERMANENT_CODES: readonly number[] = [190]
/** Documented as retryable: unknown/service errors (1, 2), app and user rate limits (4, 17, 341). */
const GRAPH_TRANSIENT_CODES: readonly number[] = [1, 2, 4, 17, 341]

/** Our code for a Graph error code. */
const graphCode = (code: number): `graph_${number}` => `graph_${code}`

/** Outages at the connect callback: the shared ones and Graph's retryable codes. */
export const GRAPH_OUTAGE_CODES: ReadonlySet<string> = new Set([...OUTAGE_CODES, ...GRAPH_TRANSIENT_CODES.map(graphCode)])

/** The Graph error code of an answer, if it carries one. */
function graphErrorCode (answer: ProviderAnswer): number | undefined {
  const error = jsonObject(answer)?.error
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'number' && Number.isSafeInteger(code) ? code : undefined
}

/**
 * Graph APIs refuse an invalid or expired access token with code 190, in a 400 (sometimes 401 or 403)
 * body: the proxy then refreshes once and retries.
 */
export const GRAPH_TOKEN_REFUSAL: ApiTokenRefusal = {
  bodyStatuses: [400, 403],
  refuses (status, body) {
    if (status === 401) return true
    const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
    return typeof code === 'number' && GRAPH_PERMANENT_CODES.includes(code)
  }
}

/**
 * A failure out of a Graph answer, or undefined when it is not an error. Every Graph code becomes
 * `graph_<n>`; only 190 is permanent, so an unknown code never disconnects an account.
 */
export function graphFailure (answer: ProviderAnswer, nowMs: number): Failure | undefined {
  const code = graphErrorCode(answer)
  if (code !== undefined) {
    if (GRAPH_PERMANENT_CODES.includes(code)) return { kind: 'permanent', code: graphCode(code) }
    if (answer.status === 429) return statusFailure(answer, nowMs)
    return { kind: 'transient', code: graphCode(code) }
  }
  if (answer.status < 200 || answer.status > 299) return statusFailure(answer, nowMs)
  return jsonObject(answer) === undefined ? { kind: 'transient', code: FAILURE_CODES.malformed } : undefined
}
