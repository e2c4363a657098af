// The one way to reach a provider: an injected fetch (tests point it at the fake providers), a timeout
// on every call (body included) and a descriptive User-Agent (Reddit requires one). Errors never carry
// a provider body, a token or a URL with its query: only stable codes.
import type { CustomFetch } from 'openid-client'

export interface ProviderHttp {
  readonly fetch: typeof fetch
  readonly timeoutMs: number
  readonly userAgent: string
  readonly now: () => number
}

export interface ProviderHttpOptions {
  readonly fetch?: typeof fetch | undefined
  readonly timeoutMs: number
  readonly userAgent?: string | undefined
  readonly now?: (() => number) | undefined
}

/** Reddit asks for `<platform>:<app id>:<version> (by /u/<user>)`; operators may set their own. */
export const DEFAULT_USER_AGENT = 'node:oauth-refresher:v0.1.0 (token refresh service)'

/** Answers larger than this are not token answers: read no further. */
const MAX_BODY_BYTES = 1_000_000

export function createProviderHttp (options: ProviderHttpOptions): ProviderHttp {
  return {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs,
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    now: options.now ?? Date.now
  }
}

/** A provider's answer, read in full inside the timeout. `json` is undefined when the body is not JSON. */
export interface ProviderAnswer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

export const TRANSPORT_CODES = { network: 'network', timeout: 'timeout' } as const
export type TransportCode = typeof TRANSPORT_CODES[keyof typeof TRANSPORT_CODES]

/** The request never produced a complete answer. The message names no URL (query values are tokens). */
export class ProviderTransportError extends Error {
  readonly code: TransportCode
  constructor (code: TransportCode, cause: unknown) {
    super(code === 'timeout' ? 'provider request timed out' : 'provider request failed', { cause })
    this.name = 'ProviderTransportError'
    this.code = code
  }
}

function isTimeout (err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name
  return name === 'TimeoutError' || name === 'AbortError'
}

/**
 * One request to a provider, its body read in full under the same deadline (a provider that sends
 * headers and then stalls is a timeout too). Throws ProviderTransportError, never a fetch error.
 */
export async function providerRequest (http: ProviderHttp, url: string | URL, init: RequestInit = {}): Promise<ProviderAnswer> {
  const headers = new Headers(init.headers)
  headers.set('user-agent', http.userAgent)
  if (!headers.has('accept')) headers.set('accept', 'application/json')
  const deadline = AbortSignal.timeout(http.timeoutMs)
  const signal = init.signal == null ? deadline : AbortSignal.any([init.signal, deadline])
  try {
    const response = await http.fetch(url, { ...init, headers, signal, redirect: 'manual' })
    const bytes = new Uint8Array(await response.arrayBuffer())
    const text = new TextDecoder().decode(bytes.length > MAX_BODY_BYTES ? bytes.subarray(0, 0) : bytes)
    return { status: response.status, headers: response.headers, text, json: parseJson(text) }
  } catch (err) {
    throw new ProviderTransportError(isTimeout(err) || deadline.aborted ? 'timeout' : 'network', err)
  }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The JSON body when it is an object (what every provider answers), else undefined. */
export function jsonObject (answer: ProviderAnswer): Record<string, unknown> | undefined {
  const { json } = answer
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : undefined
}

/**
 * An openid-client `customFetch` that goes through providerRequest and keeps the raw answer in
 * `capture`, so the platform classifies what the provider really said, whatever openid-client made of it.
 */
export function capturingFetch (http: ProviderHttp, capture: { answer?: ProviderAnswer }): CustomFetch {
  return async (url, options) => {
    const init: RequestInit = { method: options.method, headers: options.headers }
    if (options.body !== undefined && options.body !== null) init.body = options.body as NonNullable<RequestInit['body']>
    // openid-client's own signal is dropped: ours is the shorter deadline (oauth-client.ts sets theirs
    // longer), and combining signals per call (AbortSignal.any) retains memory on Node 20.
    const answer = await providerRequest(http, url, init)
    capture.answer = answer
    const nullBody = answer.status === 204 || answer.status === 304
    return new Response(nullBody ? null : answer.text, { status: answer.status, headers: answer.headers })
  }
}

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfterMs (value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - nowMs)
}
