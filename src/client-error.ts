// Answers the requests Node's HTTP parser refuses before Fastify sees them (bad bytes, headers over
// the limit, a client too slow to send its headers), in the contract's JSON shape. Fastify's own
// handler logs the error at trace with `rawPacket`: the raw bytes of the request as a decimal array,
// which text redaction never sees, so a valid cron secret or JWT sent just before a malformed header
// reached the log. This one logs the parser's code alone.
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES, type ErrorCode } from './errors.js'

interface ClientErrorAnswer { readonly status: number, readonly code: ErrorCode }

/** The status and contract code for a parser error code (`HPE_HEADER_OVERFLOW`, `ERR_HTTP_REQUEST_TIMEOUT`…). */
function clientErrorAnswer (errorCode: unknown): ClientErrorAnswer {
  if (errorCode === 'HPE_HEADER_OVERFLOW') return { status: 431, code: ERROR_CODES.headerTooLarge }
  if (errorCode === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: ERROR_CODES.requestTimeout }
  return { status: 400, code: ERROR_CODES.badRequest }
}

/** A parser code fit for a log line: Node's and llhttp's codes are upper-case words; anything else is 'other'. */
function loggableErrorCode (errorCode: unknown): string {
  return typeof errorCode === 'string' && /^[A-Z][A-Z0-9_]{0,60}$/.test(errorCode) ? errorCode : 'other'
}

/** Fastify's `clientErrorHandler` option (called with the instance as `this`). */
export function clientErrorHandler (this: { log: FastifyBaseLogger }, err: Error & { code?: unknown }, socket: Duplex): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { status, code } = clientErrorAnswer(err.code)
  // Never `err` itself: it carries rawPacket (and the reason quotes the offending bytes).
  this.log.debug({ clientError: { code: loggableErrorCode(err.code), status } }, 'client error')
  if (socket.writable) {
    const body = JSON.stringify({ ok: false, error: code })
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/**
 * Fastify's `frameworkErrors` option: the router's refusals (a path parameter over maxParamLength is a
 * 414, a malformed percent-encoding a 400), which skip the error handler. Fastify's default body is
 * outside the contract's shape and quotes the whole path back, whatever it carries.
 */
export function frameworkErrorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400
  request.log.debug({ frameworkError: { code: loggableErrorCode(err.code), status } }, 'request refused by the router')
  reply.code(status).header('cache-control', 'no-store').send({ ok: false, error: status === 414 ? ERROR_CODES.uriTooLong : ERROR_CODES.badRequest })
}
