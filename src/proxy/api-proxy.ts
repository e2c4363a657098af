// The provider API proxy's steps, framework-free: check the path → read (or start streaming) the body →
// a usable token from the handout (refreshed first near expiry, single-flight, claims) → a slot in the
// provider budget → the upstream call → on a refused token (401, Graph 190) one refresh through the
// handout's forced path and one retry. One audit line per call (proxy-audit.ts). routes/proxy.ts maps
// the outcomes (proxy-outcome.ts) to HTTP.
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ProviderBudget } from '../budget/provider-budget.js'
import { HANDOUT_OUTCOMES, HANDOUT_REASONS, type HandoutResult, type TokenHandout } from '../internal/token-handout.js'
import type { Platform } from '../platforms/platform.js'
import type { ProviderHttp } from '../platforms/provider-http.js'
import type { TokenKey } from '../store/token-item.js'
import { SPAN_KINDS, withSpan } from '../telemetry/tracing.js'
import { AUDIT_OUTCOMES, startAudit, type AuditFields } from './proxy-audit.js'
import { answerHeaders, asFetchHeaders, upstreamRequestHeaders } from './proxy-headers.js'
import { PROXY_REFUSALS, refused, type ProxyLogger, type ProxyOutcome } from './proxy-outcome.js'
import { BodyTooLargeError, readRequestBody, type RequestBody } from './request-body.js'
import { callUpstream, readHead, type UpstreamAnswer, type UpstreamFailure } from './upstream-call.js'
import { upstreamUrl } from './upstream-url.js'

export { PROXY_REFUSALS, type ProxyOutcome, type ProxyRefusal } from './proxy-outcome.js'

export interface ProxyCall {
  readonly key: TokenKey
  readonly method: string
  /** The path after `/:userId/:platform`, still percent-encoded, as the request target had it. */
  readonly rawPath: string
  /** The query string without its `?`, as it came (never logged). */
  readonly rawQuery: string
  readonly headers: IncomingHttpHeaders
  /** The caller's body stream (the raw request: never destroyed here). */
  readonly body: Readable
  readonly hasBody: boolean
  /** Position of the internal key the caller presented (the audit line names it, never the key). */
  readonly keyIndex: number
  readonly log: ProxyLogger
}

export interface ApiProxyOptions {
  readonly handout: Pick<TokenHandout, 'handOut'>
  readonly budget: ProviderBudget
  readonly platforms: Readonly<Record<string, Platform>>
  readonly http: Pick<ProviderHttp, 'agents' | 'userAgent' | 'timeoutMs'>
  /** PROXY_MAX_BODY_BYTES, PROXY_MAX_ANSWER_BYTES. */
  readonly maxBodyBytes: number
  readonly maxAnswerBytes: number
  /** PROVIDER_BUDGET_WAIT_MS: how long a call waits for room in the provider budget. */
  readonly budgetWaitMs: number
}

export interface ApiProxy {
  call (input: ProxyCall): Promise<ProxyOutcome>
}

/** How often, and how far apart, a refused token met by the force cooldown is asked for again. */
const COOLDOWN_RECHECKS = 3
const COOLDOWN_RECHECK_MS = 200

const sameToken = (result: HandoutResult, token: string): boolean => result.kind === HANDOUT_OUTCOMES.token && result.accessToken === token

/** Answers that may refuse the token are read this far to decide (error objects are small). */
const REFUSAL_BODY_BYTES = 64 * 1024

function parseJson (bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
}

export function createApiProxy (opts: ApiProxyOptions): ApiProxy {
  const { budget, handout } = opts

  async function slot (platform: string): Promise<ProxyOutcome | undefined> {
    const decision = await budget.take(platform, 'on_use', { waitMs: opts.budgetWaitMs })
    return decision.ok ? undefined : refused(PROXY_REFUSALS.rateLimited, decision.retryAfterMs)
  }

  async function send (platform: Platform, method: string, url: URL, token: string, input: ProxyCall, body: RequestBody): Promise<UpstreamAnswer | UpstreamFailure> {
    // A client span per upstream call, to the answer's headers: method, host and path, never the query.
    const outcome = await withSpan(`provider ${method}`, { 'http.request.method': method, 'server.address': url.hostname, 'url.path': url.pathname }, async (span) => {
      const sent = await callUpstream(opts.http, {
        method,
        url,
        headers: upstreamRequestHeaders(input.headers, token, opts.http.userAgent, body),
        body,
        timeoutMs: opts.http.timeoutMs,
        maxAnswerBytes: opts.maxAnswerBytes
      })
      span.setAttributes(sent.kind === 'answer' ? { 'http.response.status_code': sent.status } : { 'error.type': sent.failure })
      return sent
    }, { kind: SPAN_KINDS.client })
    if (outcome.kind === 'failed') return outcome.failure
    // A push-back (429, Reddit's reset headers) pauses the platform for the fleet; a store that cannot
    // record it does not fail this answer.
    await budget.observe(platform.name, { status: outcome.status, headers: asFetchHeaders(outcome.headers) })
      .catch((err: unknown) => { input.log.warn({ proxy: { platform: platform.name, errorName: err instanceof Error ? err.name : typeof err } }, 'provider budget did not record an answer') })
    return outcome
  }

  /** The answer as it goes to the caller: read in part (`head`) or not at all. */
  function answerOf (answer: UpstreamAnswer, head?: { readonly head: Buffer, readonly rest: 'none' | 'more' }): ProxyOutcome {
    const headers = answerHeaders(answer.status, answer.headers)
    if (head === undefined) return { kind: 'answer', status: answer.status, headers, body: answer.body, length: answer.length }
    if (head.rest === 'none') return { kind: 'answer', status: answer.status, headers, body: head.head, length: head.head.length }
    const rest = answer.body
    async function * joined (): AsyncGenerator<Buffer> {
      yield head!.head
      for await (const chunk of rest) yield chunk as Buffer
    }
    return { kind: 'answer', status: answer.status, headers, body: Readable.from(joined(), { objectMode: false }), length: answer.length }
  }

  /** A token other than `refusedToken`: one someone else already wrote, else one forced refresh. */
  async function replacement (key: TokenKey, refusedToken: string): Promise<HandoutResult> {
    const current = await handout.handOut(key)
    if (current.kind !== HANDOUT_OUTCOMES.token || current.accessToken !== refusedToken) return current
    let next = await handout.handOut(key, { force: true, refusedByProvider: true })
    // The cooldown answered the refused token: another instance took the force slot a moment ago and
    // is about to claim the token (or has written a new one). Ask again a few times: the handout then
    // waits for that claim holder's write, or finds the new version.
    for (let i = 0; i < COOLDOWN_RECHECKS && sameToken(next, refusedToken) && next.kind === HANDOUT_OUTCOMES.token && next.reason === HANDOUT_REASONS.forceCooldown; i++) {
      await sleep(COOLDOWN_RECHECK_MS)
      next = await handout.handOut(key, { force: true, refusedByProvider: true })
    }
    return next
  }

  async function run (input: ProxyCall, audit: AuditFields): Promise<ProxyOutcome> {
    const platform = Object.hasOwn(opts.platforms, input.key.platform) ? opts.platforms[input.key.platform] : undefined
    // A platform without an API base (none declared) is not one the proxy serves.
    const apiBase = platform?.config.urls.api
    if (platform === undefined || apiBase === undefined) return refused(PROXY_REFUSALS.unknownPlatform)
    const target = upstreamUrl(apiBase, input.rawPath, input.rawQuery)
    if (!target.ok) {
      audit.pathRefusal = target.refusal
      return refused(PROXY_REFUSALS.invalidPath)
    }
    let body: RequestBody
    try {
      body = await readRequestBody(input.body, typeof input.headers['content-length'] === 'string' ? input.headers['content-length'] : undefined, input.hasBody, opts.maxBodyBytes)
    } catch (err) {
      if (err instanceof BodyTooLargeError) return refused(PROXY_REFUSALS.bodyTooLarge)
      throw err
    }
    try {
      const first = await handout.handOut(input.key)
      if (first.kind !== HANDOUT_OUTCOMES.token) return handoutRefusal(first)
      audit.refreshed = first.refreshed
      const paused = await slot(platform.name)
      if (paused !== undefined) return paused
      const answer = await send(platform, input.method, target.url, first.accessToken, input, body)
      if (typeof answer === 'string') return refused(answer)
      audit.upstreamStatus = answer.status
      const rule = platform.apiTokenRefusal
      if (answer.status !== 401 && !rule.bodyStatuses.includes(answer.status)) return answerOf(answer)

      const head = await readHead(answer.body, REFUSAL_BODY_BYTES)
      if (head.rest === 'failed') return refused(PROXY_REFUSALS.upstreamUnavailable)
      const passOn = answerOf(answer, { head: head.head, rest: head.rest })
      if (head.rest !== 'none' || !rule.refuses(answer.status, parseJson(head.head))) return passOn

      // The provider refused the token: one refresh (or the one another writer just made), one retry.
      const next = await replacement(input.key, first.accessToken)
      if (next.kind !== HANDOUT_OUTCOMES.token) return handoutRefusal(next)
      audit.refreshed ||= next.refreshed
      // No newer token (force cooldown, a refresh put off): sending the same one again is pointless.
      // A streamed body was sent once and is gone: the caller retries, with the new token already stored.
      if (next.accessToken === first.accessToken || !body.replayable) return passOn
      const pausedAgain = await slot(platform.name)
      if (pausedAgain !== undefined) return pausedAgain
      audit.retried = true
      const second = await send(platform, input.method, target.url, next.accessToken, input, body)
      if (typeof second === 'string') return refused(second)
      audit.upstreamStatus = second.status
      return answerOf(second)
    } finally {
      body.stop()
    }
  }

  return {
    // A span per proxied call (a child of the request's): platform, method and what came of it; never
    // the user's token, the path's query or a body.
    call: async (input) => await withSpan('proxy.call', { 'proxy.platform': input.key.platform, 'http.request.method': input.method }, async (span) => {
      const audit = startAudit(input)
      let outcome: ProxyOutcome
      try {
        outcome = await run(input, audit.fields)
      } catch (err) {
        audit.finish(AUDIT_OUTCOMES.error)
        throw err
      }
      span.setAttributes({
        'proxy.outcome': outcome.kind === 'refused' ? outcome.code : AUDIT_OUTCOMES.answered,
        'http.response.status_code': audit.fields.upstreamStatus,
        'proxy.refreshed': audit.fields.refreshed,
        'proxy.retried': audit.fields.retried
      })
      return audit.follow(outcome)
    })
  }
}

function handoutRefusal (result: Exclude<HandoutResult, { kind: 'token' }>): ProxyOutcome {
  switch (result.kind) {
    case HANDOUT_OUTCOMES.unknownPlatform: return refused(PROXY_REFUSALS.unknownPlatform)
    case HANDOUT_OUTCOMES.notConnected: return refused(PROXY_REFUSALS.notConnected)
    case HANDOUT_OUTCOMES.needsReauth: return refused(PROXY_REFUSALS.needsReauth)
    default: return refused(PROXY_REFUSALS.providerUnavailable)
  }
}
