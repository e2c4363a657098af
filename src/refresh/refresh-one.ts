// One token, start to end: consistent re-read → decide → rate slot → claim → open secrets → provider →
// conditional write under the claim. Shared by the cron run and on-demand refreshes (internal route).
// @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2 (refresh token rotation and replay)
import type { FailureCode } from '../platforms/oauth-errors.js'
import type { Platform, RefreshOutcome } from '../platforms/platform.js'
import { CryptoError } from '../store/crypto.js'
import { StoreUnavailableError } from '../store/errors.js'
import { retry, type RetryPolicy } from '../store/retry.js'
import type { TokenKey, TokenRecord } from '../store/token-item.js'
import { CLAIM_FAILURES, type ClaimFailure } from '../store/claimed-writes.js'
import type { TokenStore } from '../store/token-store.js'
import { withSpan } from '../telemetry/tracing.js'
import { nextAttemptAtMs } from './backoff.js'
import { DECISION_REASONS, decideRefresh, dueAtAfterWrite, nextGrantDeadlineMs, refreshesOnUse, type Decision, type DecisionReason, type DueRules } from './due.js'

/** The slice of a pino logger the refresh needs (Fastify's logger fits; so does pino itself). */
export interface RefreshLogger {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export type TokenOutcome = 'refreshed' | 'failed' | 'needsReauth' | 'deferred' | 'skipped'

/** A token's outcome in words, besides the decision's own reasons (due.ts) and the claim's (claimed-writes.ts). */
const TOKEN_REASONS = {
  gone: 'gone',
  rateCap: 'rate_cap',
  lostClaim: 'lost_claim',
  lostRace: 'lost_race',
  transientFailure: 'transient_failure',
  permanentFailure: 'permanent_failure'
} as const
export type TokenReason = typeof TOKEN_REASONS[keyof typeof TOKEN_REASONS] | DecisionReason | ClaimFailure

/** Our error codes for a refresh that failed before any provider answer, or whose answer was not stored. */
export const REFRESH_ERRORS = {
  decryptFailed: 'decrypt_failed',
  internal: 'internal_error',
  lostClaim: TOKEN_REASONS.lostClaim
} as const
/** A failed refresh's code: the provider's failure (platforms/oauth-errors.ts) or one of ours. */
export type RefreshErrorCode = FailureCode | typeof REFRESH_ERRORS[keyof typeof REFRESH_ERRORS]

export interface TokenResult {
  readonly outcome: TokenOutcome
  /** In words, for the log line: `expires_within_window`, `backoff`, `lost_race`, … */
  readonly reason: TokenReason
  /** Our error code (never a provider body) when the outcome is failed or needsReauth. */
  readonly errorCode?: RefreshErrorCode | undefined
  /** The stored record after a write (the internal route answers with it). */
  readonly record?: TokenRecord | undefined
  /**
   * The item as this refresh last saw it, when it did not store tokens: as given or read, as a failed
   * condition returned it, or as its failure bookkeeping wrote it (`record` undefined: the item is gone).
   * The internal route answers from it without reading the item again.
   */
  readonly current?: KnownItem | undefined
}

/** An item as a consistent read just saw it (`record` undefined: no item). */
interface KnownItem {
  readonly record: TokenRecord | undefined
}

export interface RefreshOneContext {
  readonly store: TokenStore
  readonly now: () => number
  readonly log: RefreshLogger
  readonly rules: DueRules
  /**
   * The platform's cron rules when `rules` are another caller's (the internal route's minimum TTL):
   * they give the index value a write stores (on_demand: the next grant-keeping deadline). Default: rules.
   */
  readonly platformRules?: DueRules | undefined
  /** How long a claim lasts: well beyond the provider timeout, so a slow answer is still ours to write. */
  readonly claimLeaseMs: number
  readonly retentionDays: number
  /** A slot under the platform's request cap; false defers the token. */
  readonly takeRateSlot?: (() => Promise<boolean>) | undefined
  /** Bounds the provider calls in flight (the platform's concurrency); store work happens outside it. */
  readonly withProviderSlot?: (<T>(call: () => Promise<T>) => Promise<T>) | undefined
}

/**
 * `known`: the item as a consistent read of the caller just saw it (the run: a BatchGetItem of the
 * key's page; the internal route: its one read), and `decision`, when the caller already decided on
 * it under `ctx.rules` (the internal route). Omitted, the item is read here. Either way the claim's
 * condition on the version makes a stale view harmless: a claim that finds a newer version decides
 * again on the item it saw (returned by the failed condition), once.
 */
export async function refreshOne (
  ctx: RefreshOneContext, platform: Platform, key: TokenKey, claimId: string, known?: KnownItem & { readonly decision?: Decision | undefined }
): Promise<TokenResult> {
  // A span per token (a child of the run's, or of the handout's): its platform and outcome code.
  return await withSpan('refresh.token', { 'refresh.platform': key.platform }, async (span) => {
    const result = await refreshOneUntraced(ctx, platform, key, claimId, known)
    span.setAttributes({ 'refresh.outcome': result.outcome, 'refresh.reason': result.reason, 'refresh.error_code': result.errorCode })
    return result
  })
}

async function refreshOneUntraced (
  ctx: RefreshOneContext, platform: Platform, key: TokenKey, claimId: string, known?: KnownItem & { readonly decision?: Decision | undefined }
): Promise<TokenResult> {
  const { store, log } = ctx
  const where = { platform: key.platform, userId: key.userId }
  let record = known === undefined ? await store.get(key, true) : known.record
  let decision: Decision | undefined = known?.decision
  let claim: Awaited<ReturnType<TokenStore['claim']>>
  let rateSlotTaken = false
  for (let attempt = 1; ; attempt++) {
    if (record === undefined) return done(log, where, { outcome: 'skipped', reason: TOKEN_REASONS.gone, current: { record } })
    const seen = { record }
    decision ??= decideRefresh(record, ctx.now(), ctx.rules)
    if (decision.action === 'skip') {
      if (decision.reason === DECISION_REASONS.leftToUse) await moveToDeadline(ctx, record)
      return done(log, where, { outcome: 'skipped', reason: decision.reason, current: seen })
    }
    if (decision.action === 'defer') return done(log, where, { outcome: 'deferred', reason: decision.reason, current: seen })
    if (!rateSlotTaken && ctx.takeRateSlot !== undefined && !(await ctx.takeRateSlot())) {
      return done(log, where, { outcome: 'deferred', reason: TOKEN_REASONS.rateCap, current: seen })
    }
    rateSlotTaken = true
    claim = await store.claim(record, claimId, ctx.claimLeaseMs)
    if (claim.claimed) break
    // Another writer moved the token since our read: decide again on what it wrote (once).
    if (claim.reason !== CLAIM_FAILURES.versionChanged || attempt > 1) return done(log, where, { outcome: 'skipped', reason: claim.reason, current: { record: claim.current } })
    record = claim.current
    decision = undefined
  }

  let outcome: RefreshOutcome
  try {
    const secrets = store.openSecrets(record)
    outcome = ctx.withProviderSlot === undefined ? await platform.refresh(secrets) : await ctx.withProviderSlot(async () => await platform.refresh(secrets))
  } catch (err) {
    // A ciphertext that no configured key opens, or a bug in a platform module: never the user's fault.
    const errorCode = err instanceof CryptoError ? REFRESH_ERRORS.decryptFailed : REFRESH_ERRORS.internal
    log.error({ ...where, errorName: err instanceof Error ? err.name : typeof err, errorCode }, 'token refresh failed before any provider answer')
    return settleTransient(ctx, record, claimId, { code: errorCode }, where)
  }

  if (outcome.kind === 'refreshed') {
    const written = await writeRefreshed(ctx, record, claimId, outcome, claim.claimUntilMs)
    if (!written.written) {
      // The claim ran out under a very slow answer and another writer moved on: our answer is stale.
      log.error({ ...where, reason: TOKEN_REASONS.lostClaim }, 'refreshed tokens not stored: the claim was lost before the write')
      return done(log, where, { outcome: 'failed', reason: TOKEN_REASONS.lostClaim, errorCode: REFRESH_ERRORS.lostClaim, current: { record: written.current } })
    }
    if (outcome.warning !== undefined) log.warn({ ...where, warning: outcome.warning }, 'provider answer kept despite a defect; token stays due')
    return done(log, where, { outcome: 'refreshed', reason: decision.reason, record: written.record })
  }
  if (outcome.kind === 'transient') return settleTransient(ctx, record, claimId, outcome, where)
  return settlePermanent(ctx, record, claimId, outcome.code, where)
}

/**
 * An on_demand token found by the run but not due (connected, or last written, under eager rules):
 * its index entry moves to its deadline, so later runs spend no read on it until then.
 */
async function moveToDeadline (ctx: RefreshOneContext, record: TokenRecord): Promise<void> {
  const rules = ctx.platformRules ?? ctx.rules
  if (!refreshesOnUse(rules)) return
  const dueAtMs = nextGrantDeadlineMs(record, rules.grant)
  if (record.dueAtMs !== undefined && record.dueAtMs >= dueAtMs) return
  await ctx.store.moveDueAt(record, dueAtMs)
}

async function settleTransient (
  ctx: RefreshOneContext, record: TokenRecord, claimId: string,
  outcome: { readonly code: RefreshErrorCode, readonly retryAfterMs?: number | undefined }, where: object
): Promise<TokenResult> {
  const nowMs = ctx.now()
  const next = nextAttemptAtMs({ nowMs, attempts: record.attempts + 1, retryAfterMs: outcome.retryAfterMs, expiresAtMs: record.expiresAtMs })
  const written = await ctx.store.recordFailure(record, claimId, outcome.code, next)
  ctx.log.warn({ ...where, errorCode: outcome.code, attempts: record.attempts + 1, retryInMs: next - nowMs, recorded: written.written }, 'token refresh failed transiently; it stays due')
  return written.written
    ? { outcome: 'failed', reason: TOKEN_REASONS.transientFailure, errorCode: outcome.code, record: written.record, current: { record: written.record } }
    : { outcome: 'failed', reason: TOKEN_REASONS.transientFailure, errorCode: outcome.code, current: { record: written.current } }
}

/**
 * A permanent answer marks needs_reauth only if the refresh token we sent is still the stored one:
 * otherwise another writer rotated it meanwhile (a reconnect, a run whose lease ran out) and the
 * provider refused a token that was already replaced — a lost race, not a revocation. The write's
 * condition says which: our claim and the version we read (every change of the refresh token moves
 * the version, and a writer that moves it drops our claim).
 */
async function settlePermanent (ctx: RefreshOneContext, record: TokenRecord, claimId: string, code: FailureCode, where: object): Promise<TokenResult> {
  const written = await ctx.store.markNeedsReauth(record, claimId, code, ctx.retentionDays)
  if (!written.written) return done(ctx.log, where, { outcome: 'skipped', reason: TOKEN_REASONS.lostRace, errorCode: code, current: { record: written.current } })
  ctx.log.warn({ ...where, errorCode: code, reason: TOKEN_REASONS.permanentFailure }, 'token needs re-authorisation')
  return { outcome: 'needsReauth', reason: TOKEN_REASONS.permanentFailure, errorCode: code, record: written.record }
}

/**
 * The provider may already have rotated the refresh token: its answer is the only copy. A store that
 * stops answering gets retried for as long as the claim is ours (measured on the monotonic clock).
 */
async function writeRefreshed (
  ctx: RefreshOneContext, record: TokenRecord, claimId: string,
  outcome: Extract<RefreshOutcome, { kind: 'refreshed' }>, claimUntilMs: number
): ReturnType<TokenStore['completeRefresh']> {
  // Retries stop 1 s before the claim ends, so that the last attempt still lands while the claim is ours.
  const policy: RetryPolicy = { attempts: Infinity, baseDelayMs: 250, maxDelayMs: 2_000, withinMs: Math.max(0, claimUntilMs - ctx.now() - 1_000) }
  const { grant } = outcome
  const refreshedAtMs = ctx.now()
  const dueAtMs = dueAtAfterWrite({
    expiresAtMs: grant.expiresAtMs,
    refreshExpiresAtMs: grant.refreshExpiresAtMs ?? record.refreshExpiresAtMs,
    lastRefreshedAtMs: refreshedAtMs,
    connectedAtMs: record.connectedAtMs
  }, ctx.platformRules ?? ctx.rules)
  const storeDown = (err: unknown): boolean => {
    if (!(err instanceof StoreUnavailableError)) return false
    ctx.log.warn({ platform: record.platform, userId: record.userId, errorCode: err.code }, 'store did not take refreshed tokens; retrying while the claim lasts')
    return true
  }
  return await retry(policy, storeDown, async () => await ctx.store.completeRefresh(record, claimId, { ...grant, dueAtMs, refreshedAtMs }))
}

function done (log: RefreshLogger, where: object, result: TokenResult): TokenResult {
  const line = { ...where, outcome: result.outcome, reason: result.reason, ...(result.errorCode === undefined ? {} : { errorCode: result.errorCode }) }
  if (result.outcome === 'failed') log.warn(line, 'token refresh decision')
  else log.debug(line, 'token refresh decision')
  return result
}
