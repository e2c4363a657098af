// One request to the provider's API for the proxy, on provider-http's keep-alive agents (node:http(s),
// not fetch: docs/performance.md). Streams both ways. PROVIDER_TIMEOUT_MS bounds the wait for the
// answer's headers, then any silence while its body flows. The answer is capped: a declared
// Content-Length over the cap is refused before a byte is passed on; a body without one is counted
// as it streams and cut when it passes the cap (the caller then sees a connection closed before the
// end of the body, never a complete-looking answer). Redirects are not followed: node:http never does.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import type { ProviderHttp } from '../platforms/provider-http.js'
import { BodyTooLargeError, type RequestBody } from './request-body.js'

export interface UpstreamRequest {
  readonly method: string
  /** Built by upstream-url.ts: the configured API base, a checked path, the caller's query. */
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: RequestBody
  readonly timeoutMs: number
  readonly maxAnswerBytes: number
}

export const UPSTREAM_FAILURES = {
  timeout: 'upstream_timeout',
  unavailable: 'upstream_unavailable',
  tooLarge: 'upstream_too_large',
  bodyTooLarge: 'body_too_large'
} as const
export type UpstreamFailure = typeof UPSTREAM_FAILURES[keyof typeof UPSTREAM_FAILURES]

export interface UpstreamAnswer {
  readonly kind: 'answer'
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** The body, capped (it errors with UpstreamTooLargeError past the cap). */
  readonly body: Readable
  /** The provider's Content-Length, when it declared one (at most the cap). */
  readonly length: number | undefined
}

export type UpstreamOutcome = UpstreamAnswer | { readonly kind: 'failed', readonly failure: UpstreamFailure }

/** The answer passed PROXY_MAX_ANSWER_BYTES while streaming. */
export class UpstreamTooLargeError extends Error {
  constructor () {
    super('provider answer over the proxy limit')
    this.name = 'UpstreamTooLargeError'
  }
}

/** Counts what passes and fails past `maxBytes`. */
class CappedStream extends Transform {
  #left: number
  constructor (maxBytes: number) {
    super()
    this.#left = maxBytes
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#left -= chunk.length
    if (this.#left < 0) callback(new UpstreamTooLargeError())
    else callback(null, chunk)
  }
}

export async function callUpstream (http: Pick<ProviderHttp, 'agents'>, call: UpstreamRequest): Promise<UpstreamOutcome> {
  const { url } = call
  const secure = url.protocol === 'https:'
  const send = secure ? httpsRequest : httpRequest
  return await new Promise<UpstreamOutcome>((resolve) => {
    let settled = false
    let timedOut = false
    let bodyTooLarge = false
    const settle = (outcome: UpstreamOutcome): void => {
      clearTimeout(deadline)
      if (settled) return
      settled = true
      if (outcome.kind === 'failed') call.body.stop()
      resolve(outcome)
    }
    const failure = (): UpstreamOutcome => ({
      kind: 'failed',
      failure: bodyTooLarge ? UPSTREAM_FAILURES.bodyTooLarge : timedOut ? UPSTREAM_FAILURES.timeout : UPSTREAM_FAILURES.unavailable
    })
    // Only the configured origin's parts: the URL was checked against the base (upstream-url.ts).
    const req = send({
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: call.method,
      headers: call.headers,
      agent: secure ? http.agents['https:'] : http.agents['http:']
    })
    const deadline = setTimeout(() => {
      timedOut = true
      req.destroy(new Error('provider API request timed out'))
    }, call.timeoutMs)
    req.on('error', () => { settle(failure()) })
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(deadline)
      const declared = res.headers['content-length']
      const length = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined
      if (length !== undefined && length > call.maxAnswerBytes) {
        res.destroy()
        settle({ kind: 'failed', failure: UPSTREAM_FAILURES.tooLarge })
        return
      }
      // The body flows: now only a silence as long as the timeout ends it.
      req.setTimeout(call.timeoutMs, () => { req.destroy(new Error('provider API answer stalled')) })
      const capped = new CappedStream(call.maxAnswerBytes)
      res.on('error', (err) => { capped.destroy(err) })
      // Closed before its end (a cut connection, our timeout): the caller must not see an ending.
      res.on('close', () => { if (!res.complete) capped.destroy(new Error('provider API answer cut short')) })
      capped.on('close', () => { if (!res.destroyed && !res.readableEnded) res.destroy() })
      res.pipe(capped)
      settle({ kind: 'answer', status: res.statusCode ?? 502, headers: res.headers, body: capped, length })
    })
    call.body.writeTo(req).catch((err: unknown) => {
      if (err instanceof BodyTooLargeError) bodyTooLarge = true
      req.destroy(err instanceof Error ? err : new Error('request body failed'))
    })
  })
}

/** What readHead found: the whole body, a first part of a longer one, or a body cut before its end. */
export type Head = { readonly head: Buffer, readonly rest: 'none' | 'more' | 'failed' }

/**
 * Reads up to `maxBytes` of an answer body: all of it when it fits (`rest: 'none'`), else the part
 * read, the same stream holding the rest. Used on answers that may refuse the token (small error bodies).
 */
export async function readHead (body: Readable, maxBytes: number): Promise<Head> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body.iterator({ destroyOnReturn: false })) {
      chunks.push(chunk as Buffer)
      size += (chunk as Buffer).length
      if (size >= maxBytes) return { head: Buffer.concat(chunks), rest: 'more' }
    }
  } catch {
    return { head: Buffer.concat(chunks), rest: 'failed' }
  }
  return { head: Buffer.concat(chunks), rest: 'none' }
}
