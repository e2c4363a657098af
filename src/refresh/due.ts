// Whether one token should be refreshed now, with the reason in words: the window, the lapse rule, the
// half-life rule, backoff, Instagram's minimum age, and the refresh mode. Pure: time comes in as numbers.
// @see ../../docs/cron.md (the windows and the lapse rule) and ../../docs/scale.md (the modes)
import { TOKEN_STATUS, type TokenRecord } from '../store/token-item.js'

export type RefreshMode = 'eager' | 'on_demand'

/** What on_demand needs to know to keep a grant alive without refreshing its access tokens. */
interface GrantRules {
  /** Refresh a refresh token whose own expiry (`refresh_expires_in`) is this close. */
  readonly grantWindowMs: number
  /** Refresh a grant not refreshed (or connected) for this long, so a revocation is found early. */
  readonly keepaliveMs: number
}

export interface DueRules {
  /** The platform's effective refresh window (already raised by the lapse rule in config.ts). */
  readonly windowMs: number
  /**
   * The longest a token may wait for the next run: the schedule interval plus the run budget. A token
   * with less than this left is refreshed now whatever the half-life rule says, or it could lapse.
   */
  readonly lapseMarginMs: number
  /** The provider's minimum token age before a refresh is accepted (Instagram: 24 h). */
  readonly minRefreshAgeMs?: number | undefined
  /** eager (default): the windows above. on_demand: only what keeps the grant alive (grant below). */
  readonly mode?: RefreshMode | undefined
  /** The access token is itself the grant (Instagram, Threads): on_demand refreshes it as eager does. */
  readonly accessTokenIsGrant?: boolean | undefined
  readonly grant?: GrantRules | undefined
  /**
   * The caller's provider refused the access token: refresh it whatever its expiry (no window, no
   * half-life); a live claim, backoff and the provider's minimum age still hold.
   */
  readonly force?: boolean | undefined
}

export const DECISION_REASONS = {
  withinWindow: 'expires_within_window',
  forced: 'forced',
  expired: 'access_token_expired',
  notConnected: 'not_connected',
  notInIndex: 'no_expiry',
  fresh: 'already_fresh',
  claimed: 'claimed_by_other',
  backoff: 'backoff',
  halfLife: 'too_young_half_life',
  minAge: 'too_young_min_age',
  refreshTokenExpiring: 'refresh_token_expiring',
  keepalive: 'grant_idle_keepalive',
  leftToUse: 'access_left_to_use'
} as const
export type DecisionReason = typeof DECISION_REASONS[keyof typeof DECISION_REASONS]

export type Decision =
  | { readonly action: 'refresh', readonly reason: DecisionReason }
  /** Nothing to do: another writer made it fresh, holds it, or it left the index. */
  | { readonly action: 'skip', readonly reason: DecisionReason }
  /** Still due, left for a later run. */
  | { readonly action: 'defer', readonly reason: DecisionReason }

/** Whether a platform's tokens follow the on_demand rules (a grant-token platform never does: its token is the grant). */
export function refreshesOnUse (rules: DueRules): rules is DueRules & { readonly grant: GrantRules } {
  return rules.mode === 'on_demand' && rules.accessTokenIsGrant !== true && rules.grant !== undefined
}

/**
 * on_demand: when the cron must next refresh this grant (the earlier of the refresh token's own
 * deadline and the keepalive), whatever its access token does. This is the byExpiry sort value of an
 * on_demand token, so the run's query finds it when that moment comes and never before.
 */
export function nextGrantDeadlineMs (record: Pick<TokenRecord, 'refreshExpiresAtMs' | 'lastRefreshedAtMs' | 'connectedAtMs'>, grant: GrantRules): number {
  const lastTouchMs = Math.max(record.lastRefreshedAtMs ?? 0, record.connectedAtMs)
  const keepaliveAtMs = lastTouchMs + grant.keepaliveMs
  return record.refreshExpiresAtMs === undefined ? keepaliveAtMs : Math.min(keepaliveAtMs, record.refreshExpiresAtMs - grant.grantWindowMs)
}

/** The cron rules of a platform, from its configuration and spec (the run and the internal route share them). */
export function platformDueRules (
  config: { readonly refreshWindowMs: number, readonly refreshMode: RefreshMode, readonly grantWindowMs: number, readonly keepaliveMs: number },
  spec: { readonly minRefreshAgeMs?: number | undefined, readonly accessTokenIsGrant?: boolean | undefined },
  lapseMarginMs: number
): DueRules {
  return {
    windowMs: config.refreshWindowMs,
    lapseMarginMs,
    minRefreshAgeMs: spec.minRefreshAgeMs,
    mode: config.refreshMode,
    accessTokenIsGrant: spec.accessTokenIsGrant,
    grant: { grantWindowMs: config.grantWindowMs, keepaliveMs: config.keepaliveMs }
  }
}

/**
 * The internal route's rules (a token refreshed on read): refresh a token expiring within
 * TOKEN_MIN_TTL_MS (`minTtlMs`), or any token when forced. The half-life rule never holds a token
 * back (the lapse margin is the min TTL itself): a caller needs a usable token now.
 */
export function handoutDueRules (minTtlMs: number, spec: { readonly minRefreshAgeMs?: number | undefined }, force: boolean): DueRules {
  return { windowMs: minTtlMs, lapseMarginMs: minTtlMs, minRefreshAgeMs: spec.minRefreshAgeMs, force }
}

/**
 * How far ahead of now the run's byExpiry query reaches. eager: the window. on_demand: now, since the
 * sort value is then the deadline itself (already ahead of any expiry by the grant window).
 */
export function queryHorizonMs (rules: DueRules): number {
  return refreshesOnUse(rules) ? 0 : rules.windowMs
}

/** The byExpiry sort value a token gets when written: its access expiry, or its on_demand deadline. */
export function dueAtAfterWrite (
  record: Pick<TokenRecord, 'refreshExpiresAtMs' | 'lastRefreshedAtMs' | 'connectedAtMs'> & { readonly expiresAtMs: number }, rules: DueRules
): number {
  return refreshesOnUse(rules) ? nextGrantDeadlineMs(record, rules.grant) : record.expiresAtMs
}

export function decideRefresh (record: TokenRecord, nowMs: number, rules: DueRules): Decision {
  const R = DECISION_REASONS
  if (record.status !== TOKEN_STATUS.connected) return { action: 'skip', reason: R.notConnected }
  if (record.expiresAtMs === undefined) return { action: 'skip', reason: R.notInIndex }
  if (refreshesOnUse(rules)) return decideGrantKeeping(record, nowMs, rules.grant)
  const remainingMs = record.expiresAtMs - nowMs
  // The index is eventually consistent and other writers (a reconnect, an internal read) refresh too.
  const outsideWindow = remainingMs > rules.windowMs
  if (outsideWindow && rules.force !== true) return { action: 'skip', reason: R.fresh }
  if (record.claimUntilMs !== undefined && record.claimUntilMs >= nowMs) return { action: 'skip', reason: R.claimed }
  if (record.nextAttemptAtMs !== undefined && record.nextAttemptAtMs > nowMs) return { action: 'defer', reason: R.backoff }
  if (rules.minRefreshAgeMs !== undefined && nowMs - record.issuedAtMs < rules.minRefreshAgeMs) {
    return { action: 'defer', reason: R.minAge }
  }
  // Half-life: a window longer than the lifetime (TikTok: 12 h window, 2 h tokens) would otherwise
  // refresh, and rotate, every token on every run. Never deferred past the point the next run might
  // come too late, though: the lapse margin wins over the half-life.
  const lifetimeMs = record.expiresAtMs - record.issuedAtMs
  if (rules.force !== true && record.issuedAtMs > 0 && remainingMs > lifetimeMs / 2 && remainingMs > rules.lapseMarginMs) {
    return { action: 'defer', reason: R.halfLife }
  }
  // An expiry in the past is still tried: our record can be wrong (an answer without a usable
  // `expires_in` is stored as expiring now), and only the provider's own answer (Instagram: Graph
  // code 190) may declare a grant dead. A doubt never disconnects an account.
  return { action: 'refresh', reason: remainingMs <= 0 ? R.expired : outsideWindow ? R.forced : R.withinWindow }
}

/**
 * on_demand for a platform whose access tokens are refreshed when handed out: the cron refreshes only
 * a refresh token near its own expiry, or an idle grant (keepalive). An expired access token is no
 * reason: the internal route refreshes it when someone needs it.
 */
function decideGrantKeeping (record: TokenRecord, nowMs: number, grant: GrantRules): Decision {
  const R = DECISION_REASONS
  const refreshExpiring = record.refreshExpiresAtMs !== undefined && record.refreshExpiresAtMs - nowMs <= grant.grantWindowMs
  const idle = nowMs - Math.max(record.lastRefreshedAtMs ?? 0, record.connectedAtMs) >= grant.keepaliveMs
  if (!refreshExpiring && !idle) return { action: 'skip', reason: R.leftToUse }
  if (record.claimUntilMs !== undefined && record.claimUntilMs >= nowMs) return { action: 'skip', reason: R.claimed }
  if (record.nextAttemptAtMs !== undefined && record.nextAttemptAtMs > nowMs) return { action: 'defer', reason: R.backoff }
  return { action: 'refresh', reason: refreshExpiring ? R.refreshTokenExpiring : R.keepalive }
}
