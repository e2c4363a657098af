// The one way to reach a provider: node:http(s) on keep-alive connections, a timeout on every call
// (body included) and a descriptive User-Agent (Reddit requires one). Errors never carry a provider
// body, a token or a URL with its query: only stable codes.
// Not fetch(): its web streams (request body, answer, their tees) made the service's CPU per refreshed
// token 4.2–5.3 ms in `npm run bench`, against 3.7 ms on node:http (docs/performance.md). The AWS SDK
// reaches DynamoDB through node:http the same way.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { CustomFetch } from 'openid-client'
import { SPAN_KINDS, withSpan } from '../telemetry/tracing.js'

export interface ProviderHttp {
  readonly timeoutMs: number
  readonly userAgent: string
  readonly now: () => number
  /** Keep-alive connections to the providers, one pool per scheme. */
  readonly agents: { readonly 'http:': HttpAgent, readonly 'https:': HttpsAgent }
  /** The platform's share of the fleet's provider budget (src/budget/provider-gate.ts); unset: none. */
  readonly gate?: ProviderGate | undefined
}

/** Asked before every call and shown every answer: the one place every call to a provider passes. */
export interface ProviderGate {
  /** Resolves when the call may go; throws ProviderRefusedError when it may not (no call is made). */
  enter (signal?: AbortSignal): Promise<void>
  /** Every complete answer (a 429 or a spent quota pauses the platform); never throws. */
  leave (answer: ProviderAnswer): Promise<void>
}

export const REFUSAL_REASONS = { paused: 'paused', noRoom: 'no_room', budgetUnavailable: 'budget_unavailable' } as const
export type RefusalReason = typeof REFUSAL_REASONS[keyof typeof REFUSAL_REASONS]

/** The budget kept a call from leaving: the provider never saw it. */
export class ProviderRefusedError extends Error {
  readonly reason: RefusalReason
  readonly retryAfterMs: number
  constructor (reason: RefusalReason, retryAfterMs: number, cause?: unknown) {
    super(`provider call not made: ${reason}`, cause === undefined ? {} : { cause })
    this.name = 'ProviderRefusedError'
    this.reason = reason
    this.retryAfterMs = retryAfterMs
  }
}

export interface ProviderHttpOptions {
  readonly timeoutMs: number
  readonly userAgent?: string | undefined
  readonly now?: (() => number) | undefined
}

/** Reddit asks for `<platform>:<app id>:<version> (by /u/<user>)`; operators may set their own. */
export const DEFAULT_USER_AGENT = 'node:oauth-refresher:v0.1.0 (token refresh service)'

/** Answers larger than this are not token answers: read no further. */
const MAX_BODY_BYTES = 1_000_000

/**
 * An idle connection is closed after this long, or sooner when the provider's `Keep-Alive: timeout=`
 * asks (Node's agent reads it): reusing one the provider is closing at that instant fails a request
 * the provider never saw. 4 s, as undici's default.
 */
const IDLE_CONNECTION_MS = 4_000

export function createProviderHttp (options: ProviderHttpOptions): ProviderHttp {
  return {
    timeoutMs: options.timeoutMs,
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    now: options.now ?? Date.now,
    agents: {
      'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }),
      'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_CONNECTION_MS })
    }
  }
}

/** A provider's answer, read in full inside the timeout. `json` is undefined when the body is not JSON. */
export interface ProviderAnswer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

export type TransportCode = 'network' | 'timeout'

/** The request never produced a complete answer. The message names no URL (query values are tokens). */
export class ProviderTransportError extends Error {
  readonly code: TransportCode
  constructor (code: TransportCode, cause: unknown) {
    super(code === 'timeout' ? 'provider request timed out' : 'provider request failed', { cause })
    this.name = 'ProviderTransportError'
    this.code = code
  }
}

/**
 * One request to a provider, its body read in full under the same deadline (a provider that sends
 * headers and then stalls is a timeout too). Redirects are not followed. An abort of `init.signal`
 * ends it as a timeout. Throws ProviderTransportError, never a socket error, or ProviderRefusedError
 * when the platform's gate (the fleet's budget) keeps the call from leaving.
 */
export async function providerRequest (http: ProviderHttp, url: string | URL, init: RequestInit = {}): Promise<ProviderAnswer> {
  if (http.gate === undefined) return await requestOnce(http, url, init)
  await http.gate.enter(init.signal ?? undefined)
  const answer = await requestOnce(http, url, init)
  await http.gate.leave(answer)
  return answer
}

async function requestOnce (http: ProviderHttp, url: string | URL, init: RequestInit): Promise<ProviderAnswer> {
  const target = URL.canParse(String(url)) ? new URL(url) : undefined
  if (target?.protocol !== 'https:' && target?.protocol !== 'http:') throw new ProviderTransportError('network', new TypeError('not an http(s) URL'))
  // A span per call: method, host and path, never the query (Instagram's refresh carries the token
  // there), a header or a body.
  const method = init.method ?? 'GET'
  return await withSpan(`provider ${method}`, {
    'http.request.method': method,
    'server.address': target.hostname,
    'server.port': Number(target.port === '' ? (target.protocol === 'https:' ? 443 : 80) : target.port),
    'url.path': target.pathname
  }, async (span) => {
    try {
      const answer = await sendProviderRequest(http, target, init)
      span.setAttributes({ 'http.response.status_code': answer.status })
      return answer
    } catch (err) {
      if (err instanceof ProviderTransportError) span.setAttributes({ 'error.type': err.code })
      throw err
    }
  }, { kind: SPAN_KINDS.client })
}

async function sendProviderRequest (http: ProviderHttp, target: URL, init: RequestInit): Promise<ProviderAnswer> {
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  const agent = target.protocol === 'https:' ? http.agents['https:'] : http.agents['http:']
  const headers = new Headers(init.headers)
  headers.set('user-agent', http.userAgent)
  if (!headers.has('accept')) headers.set('accept', 'application/json')
  const body = requestBody(init.body, headers)
  const signal = init.signal ?? undefined
  if (signal?.aborted === true) throw new ProviderTransportError('timeout', signal.reason)

  return await new Promise<ProviderAnswer>((resolve, reject) => {
    let settled = false
    let timedOut = false
    const settle = (outcome: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      outcome()
    }
    const fail = (err: unknown): void => { settle(() => { reject(new ProviderTransportError(timedOut ? 'timeout' : 'network', err)) }) }
    const onAbort = (): void => {
      timedOut = true
      req.destroy(new Error('provider request aborted'))
    }

    const req = send(target, { method: init.method ?? 'GET', headers: Object.fromEntries(headers), agent }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size <= MAX_BODY_BYTES) chunks.push(chunk)
      })
      res.on('end', () => {
        // TextDecoder, as fetch's text(): a UTF-8 byte order mark is dropped, bad bytes become U+FFFD.
        const text = size > MAX_BODY_BYTES ? '' : new TextDecoder().decode(Buffer.concat(chunks))
        settle(() => { resolve({ status: res.statusCode ?? 0, headers: answerHeaders(res), text, json: parseJson(text) }) })
      })
      res.on('error', fail)
      // A connection cut in the middle of the body: closed before its end.
      res.on('close', () => { if (!res.complete) fail(new Error('answer cut short')) })
    })
    const timer = setTimeout(() => {
      timedOut = true
      req.destroy(new Error('provider request timed out'))
    }, http.timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    req.on('error', fail)
    req.end(body)
  })
}

/** The body as bytes, with the content type fetch() would have given it. */
function requestBody (body: RequestInit['body'], headers: Headers): Buffer | undefined {
  if (body === undefined || body === null) return undefined
  let bytes: Buffer
  if (body instanceof URLSearchParams) {
    bytes = Buffer.from(body.toString())
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
  } else if (typeof body === 'string') {
    bytes = Buffer.from(body)
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8')
  } else if (body instanceof Uint8Array) {
    bytes = Buffer.from(body)
  } else {
    throw new TypeError('a provider request body is a string, URLSearchParams or bytes')
  }
  headers.set('content-length', String(bytes.length))
  return bytes
}

function answerHeaders (res: IncomingMessage): Headers {
  const headers = new Headers()
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '')
    } catch {
      // A header Headers refuses (a name fetch() would also have dropped): not one we read.
    }
  }
  return headers
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
