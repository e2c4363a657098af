// Errors that routes answer with. `code` is stable (clients and tests match on it); `message` is safe
// to show. The one error handler in app.ts turns these into the contract's JSON error shape.
import { Type } from '@sinclair/typebox'
import { HANDOUT_OUTCOMES } from './internal/token-handout.js'
import { PROXY_REFUSALS } from './proxy/proxy-outcome.js'
import { NOT_STARTED } from './refresh/refresh-runner.js'
import { STORE_ERRORS } from './store/errors.js'

export const ErrorResponse = Type.Object({
  ok: Type.Literal(false),
  error: Type.String(),
  message: Type.Optional(Type.String())
}, { $id: 'ErrorResponse' })

/**
 * Every `error` the service answers: the table of docs/contract.md, "Errors" (a test keeps the two
 * equal). Where a domain module owns the outcome (the handout, the runner, the store), the code is its
 * value, so each string is written once.
 */
export const ERROR_CODES = {
  badRequest: 'bad_request',
  unauthorized: 'unauthorized',
  unauthenticated: 'unauthenticated',
  /** A cookie-only, state-changing call from another site's page (auth/cross-site.ts). */
  crossSiteRequest: 'cross_site_request',
  notFound: 'not_found',
  /** A path parameter over the router's 200 characters (client-error.ts frameworkErrorHandler). */
  uriTooLong: 'uri_too_long',
  notConnected: HANDOUT_OUTCOMES.notConnected,
  notConfigured: 'not_configured',
  needsReauth: HANDOUT_OUTCOMES.needsReauth,
  /** Node's parser: the client was too slow to send its headers (client-error.ts). */
  requestTimeout: 'request_timeout',
  /** Node's parser: the headers are over `maxHeaderSize` (client-error.ts). */
  headerTooLarge: 'header_too_large',
  rateLimited: 'rate_limited',
  internal: 'internal_error',
  cronDisabled: 'cron_disabled',
  /** A cron call reaching an instance that is shutting down: no new run starts there. */
  shuttingDown: NOT_STARTED.shuttingDown,
  storeUnavailable: STORE_ERRORS.unavailable,
  identityUnavailable: 'identity_unavailable',
  providerUnavailable: HANDOUT_OUTCOMES.providerUnavailable,
  /** The provider API proxy (routes/proxy.ts): a path that is not a plain path, the caps, the provider's own failures. */
  invalidPath: PROXY_REFUSALS.invalidPath,
  bodyTooLarge: PROXY_REFUSALS.bodyTooLarge,
  upstreamTooLarge: PROXY_REFUSALS.upstreamTooLarge,
  upstreamUnavailable: PROXY_REFUSALS.upstreamUnavailable,
  upstreamTimeout: PROXY_REFUSALS.upstreamTimeout
} as const
export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES]

export class HttpError extends Error {
  readonly statusCode: number
  readonly code: ErrorCode
  constructor (statusCode: number, code: ErrorCode, message?: string, options?: ErrorOptions) {
    super(message ?? code, options)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
  }
}
