// One audit line per proxied call, `proxied call`: who (userId, platform, the key's position), what
// (method, the path without its query), what came of it (upstream status, outcome, duration, refreshed,
// retried). Never a token, a query string or a body. A streamed answer's line is written when its body
// has gone through, or was cut.
import { performance } from 'node:perf_hooks'
import { PROXY_REFUSALS, type ProxyLogger, type ProxyOutcome, type ProxyRefusal } from './proxy-outcome.js'

/** How a call ended besides our refusals: answered whole, cut, left by its caller, or a bug. */
export const AUDIT_OUTCOMES = { answered: 'answered', answerCut: 'answer_cut', callerLeft: 'caller_left', error: 'error' } as const
export type AuditOutcome = typeof AUDIT_OUTCOMES[keyof typeof AUDIT_OUTCOMES] | ProxyRefusal

/** What the call's steps record for the line. */
export interface AuditFields {
  upstreamStatus?: number | undefined
  refreshed: boolean
  retried: boolean
  /** Why the path was refused, in words (upstream-url.ts's reasons). */
  pathRefusal?: string | undefined
}

export interface AuditSubject {
  readonly key: { readonly userId: string, readonly platform: string }
  readonly method: string
  readonly rawPath: string
  readonly keyIndex: number
  readonly log: ProxyLogger
}

export interface Audit {
  readonly fields: AuditFields
  /** Writes the line (once; later calls do nothing). */
  finish (outcome: AuditOutcome): void
  /** Writes the line for `outcome` now, or when its streamed body ends; returns `outcome`. */
  follow (outcome: ProxyOutcome): ProxyOutcome
}

export function startAudit (subject: AuditSubject): Audit {
  const startedAt = performance.now()
  const fields: AuditFields = { refreshed: false, retried: false }
  let written = false
  const finish = (outcome: AuditOutcome): void => {
    if (written) return
    written = true
    subject.log.info({
      proxy: {
        userId: subject.key.userId,
        platform: subject.key.platform,
        method: subject.method,
        // The path only: a query string may carry anything, a body even more.
        path: subject.rawPath,
        upstreamStatus: fields.upstreamStatus,
        outcome,
        durationMs: Math.round(performance.now() - startedAt),
        keyIndex: subject.keyIndex,
        refreshed: fields.refreshed,
        retried: fields.retried,
        ...(fields.pathRefusal === undefined ? {} : { pathRefusal: fields.pathRefusal })
      }
    }, 'proxied call')
  }
  return {
    fields,
    finish,
    follow (outcome) {
      if (outcome.kind === 'refused') finish(outcome.code)
      else if (Buffer.isBuffer(outcome.body)) finish(AUDIT_OUTCOMES.answered)
      else {
        const stream = outcome.body
        let failure: AuditOutcome | undefined
        stream.once('error', (err) => { failure = err.name === 'UpstreamTooLargeError' ? PROXY_REFUSALS.upstreamTooLarge : AUDIT_OUTCOMES.answerCut })
        stream.once('close', () => { finish(failure ?? (stream.readableEnded ? AUDIT_OUTCOMES.answered : AUDIT_OUTCOMES.callerLeft)) })
      }
      return outcome
    }
  }
}
