// Errors that routes answer with. `code` is stable (clients and tests match on it); `message` is safe
// to show. The one error handler in app.ts turns these into the contract's JSON error shape.
import { Type } from '@sinclair/typebox'

export const ErrorResponse = Type.Object({
  ok: Type.Literal(false),
  error: Type.String(),
  message: Type.Optional(Type.String())
}, { $id: 'ErrorResponse' })

export class HttpError extends Error {
  readonly statusCode: number
  readonly code: string
  constructor (statusCode: number, code: string, message?: string, options?: ErrorOptions) {
    super(message ?? code, options)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
  }
}

export const ERROR_CODES = {
  badRequest: 'bad_request',
  notFound: 'not_found',
  internal: 'internal_error',
  storeUnavailable: 'store_unavailable',
  /** A cron call reaching an instance that is shutting down: no new run starts there. */
  shuttingDown: 'shutting_down',
  unauthorized: 'unauthorized',
  unauthenticated: 'unauthenticated',
  notConnected: 'not_connected',
  notConfigured: 'not_configured',
  identityUnavailable: 'identity_unavailable'
} as const
export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES]
