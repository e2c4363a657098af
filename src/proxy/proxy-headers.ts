// Which headers cross the proxy, in each direction, as allow-lists: nothing the caller sends reaches
// the provider unless named here (never its Authorization, cookies, host, hop-by-hop or x-forwarded-*),
// and nothing the provider answers reaches the caller unless named here (never set-cookie).
// @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 (hop-by-hop fields)
import type { IncomingHttpHeaders } from 'node:http'

/** Caller headers passed upstream as they are: what the body is and what the caller accepts. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept'] as const

/**
 * Provider headers answered as they are. Rate limits: Reddit's `x-ratelimit-used|remaining|reset`,
 * the IETF draft's `ratelimit*`, and Meta Graph's usage headers (`x-app-usage`,
 * `x-business-use-case-usage`, and `x-ad-account-usage`), so a platform service can slow down itself.
 * `content-encoding` travels with the body it describes (the proxy never decodes a body).
 */
const ANSWERED_HEADERS = new Set(['content-type', 'content-encoding', 'retry-after', 'x-app-usage', 'x-business-use-case-usage', 'x-ad-account-usage'])
const ANSWERED_PREFIXES = ['x-ratelimit-', 'ratelimit'] as const

const single = (value: string | string[] | undefined): string | undefined => Array.isArray(value) ? value[0] : value

/**
 * The headers of the upstream request: the caller's content-type and accept, the user's token as the
 * provider's API expects it (RFC 6750 Bearer) and the service's own User-Agent (Reddit refuses generic
 * ones). `bodyLength`: the caller's declared length, when it declared one.
 */
export function upstreamRequestHeaders (
  caller: IncomingHttpHeaders, accessToken: string, userAgent: string, body: { readonly present: boolean, readonly length?: number | undefined }
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = single(caller[name])
    if (value !== undefined && (name !== 'content-type' || body.present)) headers[name] = value
  }
  headers['user-agent'] = userAgent
  headers.authorization = `Bearer ${accessToken}`
  if (body.present && body.length !== undefined) headers['content-length'] = String(body.length)
  return headers
}

/** The provider's answer headers the caller gets; `location` only on a redirect (never followed). */
export function answerHeaders (status: number, upstream: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || name === 'set-cookie') continue
    if (ANSWERED_HEADERS.has(name) || ANSWERED_PREFIXES.some((prefix) => name.startsWith(prefix)) || (name === 'location' && status >= 300 && status < 400)) {
      headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
  }
  return headers
}

/** The upstream answer's headers as fetch's Headers (what the provider budget reads a push-back from). */
export function asFetchHeaders (upstream: IncomingHttpHeaders): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || name === 'set-cookie') continue
    try {
      headers.set(name, Array.isArray(value) ? value.join(', ') : value)
    } catch {
      // A name or value fetch's Headers refuses is not one the budget reads.
    }
  }
  return headers
}
