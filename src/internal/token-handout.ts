// The internal read of one token, framework-free: one consistent read, one decision on it (the
// handout's rules, refresh/due.ts), then hand out, or refresh first through refreshOne and its
// per-token claim, handing it what was read. Callers of one process share one refresh (one promise
// per token); a caller that finds another instance's live claim waits for that writer's result
// (re-reading, at most the claim lease). The route (routes/internal.ts) maps the typed outcomes to HTTP.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ProviderBudget } from '../budget/provider-budget.js'
import type { Platform } from '../platforms/platform.js'
import { DECISION_REASONS, decideRefresh, handoutDueRules, platformDueRules, type Decision, type DueRules } from '../refresh/due.js'
import { refreshOne, type RefreshErrorCode, type RefreshLogger, type RefreshOneContext, type TokenReason, type TokenResult } from '../refresh/refresh-one.js'
import { isUserKey, TOKEN_STATUS, type Account, type TokenKey, type TokenRecord } from '../store/token-item.js'
import type { TokenStore } from '../store/token-store.js'
import { withSpan } from '../telemetry/tracing.js'

export const HANDOUT_OUTCOMES = {
  token: 'token',
  notConnected: 'not_connected',
  unknownPlatform: 'unknown_platform',
  needsReauth: 'needs_reauth',
  providerUnavailable: 'provider_unavailable'
} as const

/** Why a token was handed out as it was, in words (the audit line carries it). */
export const HANDOUT_REASONS = {
  fresh: 'fresh',
  refreshed: 'refreshed',
  refreshedByOther: 'refreshed_by_other',
  forceCooldown: 'force_cooldown',
  refreshFailedStillValid: 'refresh_failed_still_valid',
  refreshDeferredStillValid: 'refresh_deferred_still_valid',
  notConfiguredStillValid: 'not_configured_still_valid',
  claimHolderSilent: 'claim_holder_silent'
} as const
type HandoutReason = typeof HANDOUT_REASONS[keyof typeof HANDOUT_REASONS]

/** Why no usable token could be handed out: ours, or the refresh's own code or reason. */
const UNAVAILABLE_REASONS = { notConfigured: 'not_configured', refreshFailed: 'refresh_failed' } as const
type UnavailableReason = typeof UNAVAILABLE_REASONS[keyof typeof UNAVAILABLE_REASONS] | RefreshErrorCode | TokenReason

export type HandoutResult =
  | {
    readonly kind: typeof HANDOUT_OUTCOMES.token
    readonly accessToken: string
    readonly expiresAtMs: number
    readonly account: Account
    readonly scopes: readonly string[]
    /** The token changed during this call (by this process or the claim holder it waited for). */
    readonly refreshed: boolean
    readonly reason: HandoutReason
  }
  | { readonly kind: typeof HANDOUT_OUTCOMES.notConnected | typeof HANDOUT_OUTCOMES.unknownPlatform | typeof HANDOUT_OUTCOMES.needsReauth }
  | {
    readonly kind: typeof HANDOUT_OUTCOMES.providerUnavailable
    readonly reason: UnavailableReason
    /** When asking again may help (the budget's room, the pause's end, the token's backoff). */
    readonly retryAfterMs?: number | undefined
  }

interface TokenHandoutOptions {
  readonly store: TokenStore
  readonly platforms: Readonly<Record<string, Platform>>
  readonly now: () => number
  readonly log: RefreshLogger
  /** TOKEN_MIN_TTL_MS: a token expiring sooner is refreshed before it is handed out. */
  readonly minTtlMs: number
  /** INTERNAL_FORCE_COOLDOWN_MS: at most one forced refresh per token within it. */
  readonly forceCooldownMs: number
  readonly claimLeaseMs: number
  /** The cron's lapse margin: with the platform's rules it gives the index value a refresh stores. */
  readonly lapseMarginMs: number
  readonly retentionDays: number
  /** The fleet's provider budget: a refresh on read is a call on use, waiting up to `budgetWaitMs` for room. */
  readonly budget?: ProviderBudget | undefined
  readonly budgetWaitMs?: number | undefined
  /** How often a caller waiting for another instance's claim re-reads the item. */
  readonly pollMs?: number | undefined
}

interface HandOutOptions {
  /** Refresh even if not near expiry (the caller's provider refused this token). */
  readonly force?: boolean | undefined
  /**
   * With `force`: the provider's API itself has just refused the token (the proxy saw a 401 or Graph
   * code 190). The minimum age before a refresh (Meta's 24 h) then does not put the refresh off: a
   * revoked token meets the provider's permanent answer and the connection is found dead at once.
   */
  readonly refusedByProvider?: boolean | undefined
}

export interface TokenHandout {
  handOut (key: TokenKey, options?: HandOutOptions): Promise<HandoutResult>
  /** Refreshes in flight in this process (for tests and shutdown). */
  inFlight (): number
}

const NOT_CONNECTED = { kind: HANDOUT_OUTCOMES.notConnected } as const
const NEEDS_REAUTH = { kind: HANDOUT_OUTCOMES.needsReauth } as const

const flightId = (key: TokenKey): string => `${key.platform}\u0000${key.userId}`

export function createTokenHandout (opts: TokenHandoutOptions): TokenHandout {
  const { store, now } = opts
  const pollMs = opts.pollMs ?? 100
  const flights = new Map<string, Promise<HandoutResult>>()

  function tokenOf (record: TokenRecord, refreshed: boolean, reason: HandoutReason): HandoutResult {
    return {
      kind: HANDOUT_OUTCOMES.token,
      accessToken: store.openSecrets(record).accessToken,
      expiresAtMs: record.expiresAtMs ?? 0,
      account: record.account,
      scopes: record.scopes,
      refreshed,
      reason
    }
  }

  /** What is stored is all there is: the token while it is valid, else the provider's outage shows. */
  function stored (record: TokenRecord, reason: HandoutReason, unavailable: UnavailableReason, retryAfterMs?: number): HandoutResult {
    if (record.expiresAtMs !== undefined && record.expiresAtMs > now()) return tokenOf(record, false, reason)
    const backoffMs = record.nextAttemptAtMs === undefined ? undefined : record.nextAttemptAtMs - now()
    return { kind: HANDOUT_OUTCOMES.providerUnavailable, reason: unavailable, retryAfterMs: retryAfterMs ?? (backoffMs !== undefined && backoffMs > 0 ? backoffMs : undefined) }
  }

  /**
   * Another instance holds the claim: it is calling the provider with the refresh token right now,
   * and a second call would present that token twice. Wait for its write (a new version, or the
   * claim gone), at most until its claim ends, and answer with what it wrote.
   */
  async function awaitClaimHolder (first: TokenRecord): Promise<HandoutResult> {
    const deadlineMs = Math.min(first.claimUntilMs ?? now(), now() + opts.claimLeaseMs)
    let current: TokenRecord | undefined = first
    while (now() <= deadlineMs) {
      await sleep(pollMs)
      current = await store.get(first, true)
      if (current === undefined) return NOT_CONNECTED
      if (current.version !== first.version || current.claimId !== first.claimId) break
    }
    if (current.status === TOKEN_STATUS.needsReauth) return NEEDS_REAUTH
    const changed = current.version !== first.version
    if (changed && current.expiresAtMs !== undefined && current.expiresAtMs > now()) return tokenOf(current, true, HANDOUT_REASONS.refreshedByOther)
    return stored(current, changed ? HANDOUT_REASONS.refreshFailedStillValid : HANDOUT_REASONS.claimHolderSilent, UNAVAILABLE_REASONS.refreshFailed)
  }

  /**
   * After refreshOne did not refresh: the item as it last saw it decides the answer. refreshOne
   * reports that view on every outcome but a write of new tokens, so the read here is a fallback only.
   */
  async function settle (key: TokenKey, result: TokenResult): Promise<HandoutResult> {
    const current = result.current === undefined ? await store.get(key, true) : result.current.record
    if (current === undefined) return NOT_CONNECTED
    if (current.status === TOKEN_STATUS.needsReauth) return NEEDS_REAUTH
    if (current.claimUntilMs !== undefined && current.claimUntilMs >= now()) return awaitClaimHolder(current)
    if (result.outcome === 'failed') return stored(current, HANDOUT_REASONS.refreshFailedStillValid, result.errorCode ?? UNAVAILABLE_REASONS.refreshFailed)
    if (result.outcome === 'deferred') return stored(current, HANDOUT_REASONS.refreshDeferredStillValid, result.reason, result.retryAfterMs)
    // Skipped: another writer made it fresh (or lost a race to one); hand out what it wrote.
    return stored(current, HANDOUT_REASONS.refreshedByOther, result.reason)
  }

  async function refreshNow (platform: Platform, record: TokenRecord, decision: Decision, rules: DueRules): Promise<HandoutResult> {
    const { budget } = opts
    const ctx: RefreshOneContext = {
      store,
      now,
      log: opts.log,
      rules,
      // The cron's rules for the platform decide where the refreshed token lands in the index: in
      // on_demand mode, the next grant-keeping deadline, not the access token's expiry.
      platformRules: platformDueRules(platform.config, platform.spec, opts.lapseMarginMs),
      claimLeaseMs: opts.claimLeaseMs,
      retentionDays: opts.retentionDays,
      priority: 'on_use',
      takeBudget: budget === undefined ? undefined : async () => await budget.take(platform.name, 'on_use', { waitMs: opts.budgetWaitMs ?? 0 })
    }
    // The item as read and the decision made on it: refreshOne goes straight to the claim.
    const result = await refreshOne(ctx, platform, record, `internal:${randomUUID()}`, { record, decision })
    if (result.outcome === 'refreshed' && result.record !== undefined) return tokenOf(result.record, true, HANDOUT_REASONS.refreshed)
    if (result.outcome === 'needsReauth') return NEEDS_REAUTH
    return settle(record, result)
  }

  /**
   * One refresh per token in this process: later callers get the first caller's promise. A forced
   * refresh takes its cooldown slot inside the flight, so the callers of this process that arrive
   * while the slot is being taken share that refresh instead of meeting the cooldown.
   */
  function shared (platform: Platform, record: TokenRecord, decision: Decision, rules: DueRules): Promise<HandoutResult> {
    const id = flightId(record)
    const running = flights.get(id)
    if (running !== undefined) return running
    const run = async (): Promise<HandoutResult> => {
      // A forced refresh of a token outside the min TTL: at most one per token per cooldown.
      if (decision.reason === DECISION_REASONS.forced && !(await store.takeForceSlot(record, opts.forceCooldownMs))) {
        return tokenOf(record, false, HANDOUT_REASONS.forceCooldown)
      }
      return await refreshNow(platform, record, decision, rules)
    }
    const flight = run().finally(() => { flights.delete(id) })
    flights.set(id, flight)
    return flight
  }

  const untraced: TokenHandout = {
    inFlight: () => flights.size,

    async handOut (key, options = {}) {
      // Lock and state items share the table (`cron`, `oauth-state#…`): never a user's connection.
      if (!isUserKey(key.userId)) return NOT_CONNECTED
      const platform = Object.hasOwn(opts.platforms, key.platform) ? opts.platforms[key.platform] : undefined
      if (platform === undefined) return { kind: HANDOUT_OUTCOMES.unknownPlatform }
      // The one read of the item, and the one decision on it.
      const record = await store.get(key, true)
      if (record === undefined) return NOT_CONNECTED
      const force = options.force === true
      // A token the provider just refused is not held back by the minimum age (see HandOutOptions).
      const rules = handoutDueRules(opts.minTtlMs, force && options.refusedByProvider === true ? {} : platform.spec, force)
      const decision = decideRefresh(record, now(), rules)
      const R = DECISION_REASONS
      // Not connected: a dead grant (needs_reauth) stays dead until its user connects again.
      if (decision.reason === R.notConnected) return NEEDS_REAUTH
      if (decision.reason === R.fresh) return tokenOf(record, false, HANDOUT_REASONS.fresh)
      if (!platform.config.configured) return stored(record, HANDOUT_REASONS.notConfiguredStillValid, UNAVAILABLE_REASONS.notConfigured)
      // Claimed: by this process (join its refresh) or by another instance (wait for its write).
      if (decision.reason === R.claimed) return await (flights.get(flightId(key)) ?? awaitClaimHolder(record))
      if (decision.action === 'defer') return stored(record, HANDOUT_REASONS.refreshDeferredStillValid, decision.reason)
      if (decision.action === 'skip') return stored(record, HANDOUT_REASONS.refreshFailedStillValid, decision.reason)
      return await shared(platform, record, decision, rules)
    }
  }

  // A span per handout (a child of the request's): the platform and what was answered, never the token.
  return {
    inFlight: untraced.inFlight,
    handOut: async (key, options) => await withSpan('token.handout', { 'handout.platform': key.platform, 'handout.force': options?.force === true }, async (span) => {
      const result = await untraced.handOut(key, options)
      span.setAttributes({ 'handout.outcome': result.kind, 'handout.reason': 'reason' in result ? result.reason : undefined })
      return result
    })
  }
}
