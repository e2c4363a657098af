// What never reaches a log line: credentials in headers, tokens and secrets in objects, and the values
// of query parameters (an OAuth callback's `code` and `state` arrive in the query string).
import type { FastifyRequest } from 'fastify'

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-cron-secret"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-cron-secret"]',
  '*.accessToken', '*.refreshToken', '*.access_token', '*.refresh_token', '*.idToken', '*.id_token',
  '*.code', '*.state', '*.codeVerifier', '*.code_verifier',
  '*.clientSecret', '*.client_secret', '*.secret', '*.password', '*.token', '*.cookie',
  'accessToken', 'refreshToken', 'code', 'state', 'codeVerifier', 'token', 'secret'
]

/** Query keys whose values are safe to log; every other value is replaced. */
const SAFE_QUERY_KEYS = new Set(['wait', 'error', 'platform'])

export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = new URLSearchParams(url.slice(q + 1))
  const shown = [...params.keys()].map((k) => `${encodeURIComponent(k)}=${SAFE_QUERY_KEYS.has(k) ? encodeURIComponent(params.get(k) ?? '') : '[Redacted]'}`)
  return `${url.slice(0, q)}?${shown.join('&')}`
}

/**
 * Fastify's request serializer. It also receives whatever a caller logs under `req`, so it must not
 * throw on a plain object (a throwing serializer makes the log call itself throw) and keeps only
 * these few fields: never headers, never a query value.
 */
export function serializeRequest (req: FastifyRequest): Record<string, unknown> {
  const r = (typeof req === 'object' && req !== null ? req : {}) as Partial<FastifyRequest>
  const headers = typeof r.headers === 'object' && r.headers !== null ? r.headers : {}
  return {
    method: r.method,
    url: typeof r.url === 'string' ? redactUrl(r.url) : undefined,
    remoteAddress: r.ip,
    userAgent: headers['user-agent']
  }
}
