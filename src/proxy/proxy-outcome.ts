// What a proxied call ends in, as the route maps it to HTTP: the provider's answer (status, allowed
// headers, body), or a refusal of ours with its stable code.
import type { Readable } from 'node:stream'
import { UPSTREAM_FAILURES } from './upstream-call.js'

/** Why a call got no provider answer; the route gives each its status. */
export const PROXY_REFUSALS = {
  invalidPath: 'invalid_path',
  unknownPlatform: 'unknown_platform',
  notConnected: 'not_connected',
  needsReauth: 'needs_reauth',
  providerUnavailable: 'provider_unavailable',
  rateLimited: 'rate_limited',
  bodyTooLarge: UPSTREAM_FAILURES.bodyTooLarge,
  upstreamTooLarge: UPSTREAM_FAILURES.tooLarge,
  upstreamTimeout: UPSTREAM_FAILURES.timeout,
  upstreamUnavailable: UPSTREAM_FAILURES.unavailable
} as const
export type ProxyRefusal = typeof PROXY_REFUSALS[keyof typeof PROXY_REFUSALS]

export type ProxyOutcome =
  | {
    readonly kind: 'answer'
    readonly status: number
    /** Only the headers proxy-headers.ts lets through. */
    readonly headers: Readonly<Record<string, string>>
    readonly body: Buffer | Readable
    /** The body's length when known up front (a Buffer's, or the provider's Content-Length). */
    readonly length: number | undefined
  }
  | { readonly kind: 'refused', readonly code: ProxyRefusal, readonly retryAfterMs?: number | undefined }

/** The slice of a pino logger the audit line needs. */
export interface ProxyLogger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

export const refused = (code: ProxyRefusal, retryAfterMs?: number): ProxyOutcome =>
  retryAfterMs === undefined ? { kind: 'refused', code } : { kind: 'refused', code, retryAfterMs }
