// The internal read of one token, framework-free: read → hand out, or refresh first (through
// refreshOne and its per-token claim) when it expires within TOKEN_MIN_TTL_MS or the caller forces it.
// Callers of one process share one refresh (one promise per token); a caller that finds another
// instance's live claim waits for that writer's result (re-reading, at most the claim lease).
// The route (routes/internal.ts) maps the typed outcomes to HTTP.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Platform } from '../platforms/platform.js'
import { platformDueRules, type DueRules } from '../refresh/due.js'
import type { RefreshLogger, RefreshOneContext, TokenResult } from '../refresh/refresh-one.js'
import { isUserKey, TOKEN_STATUS, type Account, type TokenKey, type TokenRecord } from '../store/token-item.js'
import type { TokenStore } from '../store/token-store.js'

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
export type HandoutReason = typeof HANDOUT_REASONS[keyof typeof HANDOUT_REASONS]

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
  | { readonly kind: typeof HANDOUT_OUTCOMES.providerUnavailable, readonly reason: string }

export interface TokenHandoutOptions {
  readonly store: TokenStore
  readonly platforms: Readonly<Record<string, Platform>>
  /** src/refresh/refresh-one.ts's refreshOne (injected so the handout stays a unit of its own). */
  readonly refreshOne: (ctx: RefreshOneContext, platform: Platform, key: TokenKey, claimId: string) => Promise<TokenResult>
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
  /** How often a caller waiting for another instance's claim re-reads the item. */
  readonly pollMs?: number | undefined
}

export interface HandOutOptions {
  /** Refresh even if not near expiry (the caller's provider refused this token). */
  readonly force?: boolean | undefined
  /**
   * With `force`: the provider's API itself has just refused the token (the proxy saw a 401 or Graph
   * code 190). The minimum age before a refresh (Graph's 24 h) then does not put the refresh off: a
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
  function stored (record: TokenRecord, reason: HandoutReason, unavailable: string): HandoutResult {
    if (record.expiresAtMs !== undefined && record.expiresAtMs > now()) return tokenOf(record, false, reason)
    return { kind: HANDOUT_OUTCOMES.providerUnavailable, reason: unavailable }
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
    return stored(current, changed ? HANDOUT_REASONS.refreshFailedStillValid : HANDOUT_REASONS.claimHolderSilent, 'refresh_failed')
  }

  /** After refreshOne did not refresh: the item as it is now decides the answer. */
  async function settle (key: TokenKey, result: TokenResult): Promise<HandoutResult> {
    const current = await store.get(key, true)
    if (current === undefined) return NOT_CONNECTED
    if (current.status === TOKEN_STATUS.needsReauth) return NEEDS_REAUTH
    if (current.claimUntilMs !== undefined && current.claimUntilMs >= now()) return awaitClaimHolder(current)
    if (result.outcome === 'failed') return stored(current, HANDOUT_REASONS.refreshFailedStillValid, result.errorCode ?? 'refresh_failed')
    if (result.outcome === 'deferred') return stored(current, HANDOUT_REASONS.refreshDeferredStillValid, result.reason)
    // Skipped: another writer made it fresh (or lost a race to one); hand out what it wrote.
    return stored(current, HANDOUT_REASONS.refreshedByOther, result.reason)
  }

  async function refreshNow (platform: Platform, key: TokenKey, force: boolean, refusedByProvider: boolean): Promise<HandoutResult> {
    // Forced: any token not in backoff or under Instagram's minimum age (unless the provider refused it).
    // Otherwise: within the min TTL.
    const rules: DueRules = force
      ? { windowMs: Number.POSITIVE_INFINITY, lapseMarginMs: Number.POSITIVE_INFINITY, minRefreshAgeMs: refusedByProvider ? undefined : platform.spec.minRefreshAgeMs }
      : { windowMs: opts.minTtlMs, lapseMarginMs: opts.minTtlMs, minRefreshAgeMs: platform.spec.minRefreshAgeMs }
    // The cron's rules for the platform decide where the refreshed token lands in the index: in
    // on_demand mode, the next grant-keeping deadline, not the access token's expiry.
    const platformRules = platformDueRules(platform.config, platform.spec, opts.lapseMarginMs)
    const ctx: RefreshOneContext = { store, now, log: opts.log, rules, platformRules, claimLeaseMs: opts.claimLeaseMs, retentionDays: opts.retentionDays }
    const result = await opts.refreshOne(ctx, platform, key, `internal:${randomUUID()}`)
    if (result.outcome === 'refreshed' && result.record !== undefined) return tokenOf(result.record, true, HANDOUT_REASONS.refreshed)
    if (result.outcome === 'needsReauth') return NEEDS_REAUTH
    return settle(key, result)
  }

  /** One refresh per token in this process: later callers get the first caller's promise. */
  /**
   * One refresh per token in this process: later callers get the first caller's promise. A forced
   * refresh takes its cooldown slot inside the flight, so the callers of this process that arrive
   * while the slot is being taken wait for the same refresh instead of meeting the cooldown.
   */
  function shared (platform: Platform, record: TokenRecord, force: boolean, refusedByProvider = false): Promise<HandoutResult> {
    const id = `${record.platform}\u0000${record.userId}`
    const running = flights.get(id)
    if (running !== undefined) return running
    const run = async (): Promise<HandoutResult> => {
      if (force && !(await store.takeForceSlot(record, opts.forceCooldownMs))) return tokenOf(record, false, HANDOUT_REASONS.forceCooldown)
      return await refreshNow(platform, record, force, force && refusedByProvider)
    }
    const flight = run().finally(() => { flights.delete(id) })
    flights.set(id, flight)
    return flight
  }

  return {
    inFlight: () => flights.size,

    async handOut (key, options = {}) {
      // Lock and state items share the table (`cron`, `oauth-state#…`): never a user's connection.
      if (!isUserKey(key.userId)) return NOT_CONNECTED
      const platform = Object.hasOwn(opts.platforms, key.platform) ? opts.platforms[key.platform] : undefined
      if (platform === undefined) return { kind: HANDOUT_OUTCOMES.unknownPlatform }
      const record = await store.get(key, true)
      if (record === undefined) return NOT_CONNECTED
      // A dead grant stays dead until its user connects again: no provider call.
      if (record.status === TOKEN_STATUS.needsReauth) return NEEDS_REAUTH
      const fresh = record.expiresAtMs !== undefined && record.expiresAtMs - now() > opts.minTtlMs
      if (fresh && options.force !== true) return tokenOf(record, false, HANDOUT_REASONS.fresh)
      if (!platform.config.configured) return stored(record, HANDOUT_REASONS.notConfiguredStillValid, 'not_configured')
      if (record.claimUntilMs !== undefined && record.claimUntilMs >= now() && !flights.has(`${key.platform}\u0000${key.userId}`)) {
        return awaitClaimHolder(record)
      }
      // A fresh token here is a forced refresh (its cooldown slot taken in the flight); an expiring one
      // is refreshed under the min-TTL rules.
      return await shared(platform, record, fresh, options.refusedByProvider === true)
    }
  }
}
