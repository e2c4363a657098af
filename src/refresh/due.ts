// Whether one token should be refreshed now, with the reason in words: the window, the lapse rule, the
// half-life rule, backoff, and Instagram's minimum age. Pure: time comes in as numbers.
// @see ../../docs/cron.md (the windows and the lapse rule)
import { TOKEN_STATUS, type TokenRecord } from '../store/token-item.js'

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
}

export const DECISION_REASONS = {
  withinWindow: 'expires_within_window',
  expired: 'access_token_expired',
  notConnected: 'not_connected',
  notInIndex: 'no_expiry',
  fresh: 'already_fresh',
  claimed: 'claimed_by_other',
  backoff: 'backoff',
  halfLife: 'too_young_half_life',
  minAge: 'too_young_min_age'
} as const
export type DecisionReason = typeof DECISION_REASONS[keyof typeof DECISION_REASONS]

export type Decision =
  | { readonly action: 'refresh', readonly reason: DecisionReason }
  /** Nothing to do: another writer made it fresh, holds it, or it left the index. */
  | { readonly action: 'skip', readonly reason: DecisionReason }
  /** Still due, left for a later run. */
  | { readonly action: 'defer', readonly reason: DecisionReason }

export function decideRefresh (record: TokenRecord, nowMs: number, rules: DueRules): Decision {
  const R = DECISION_REASONS
  if (record.status !== TOKEN_STATUS.connected) return { action: 'skip', reason: R.notConnected }
  if (record.expiresAtMs === undefined) return { action: 'skip', reason: R.notInIndex }
  const remainingMs = record.expiresAtMs - nowMs
  // The index is eventually consistent and other writers (a reconnect, an internal read) refresh too.
  if (remainingMs > rules.windowMs) return { action: 'skip', reason: R.fresh }
  if (record.claimUntilMs !== undefined && record.claimUntilMs >= nowMs) return { action: 'skip', reason: R.claimed }
  if (record.nextAttemptAtMs !== undefined && record.nextAttemptAtMs > nowMs) return { action: 'defer', reason: R.backoff }
  if (rules.minRefreshAgeMs !== undefined && nowMs - record.issuedAtMs < rules.minRefreshAgeMs) {
    return { action: 'defer', reason: R.minAge }
  }
  // Half-life: a window longer than the lifetime (TikTok: 12 h window, 2 h tokens) would otherwise
  // refresh, and rotate, every token on every run. Never deferred past the point the next run might
  // come too late, though: the lapse margin wins over the half-life.
  const lifetimeMs = record.expiresAtMs - record.issuedAtMs
  if (record.issuedAtMs > 0 && remainingMs > lifetimeMs / 2 && remainingMs > rules.lapseMarginMs) {
    return { action: 'defer', reason: R.halfLife }
  }
  // An expiry in the past is still tried: our record can be wrong (an answer without a usable
  // `expires_in` is stored as expiring now), and only the provider's own answer (Instagram: Graph
  // code 190) may declare a grant dead. A doubt never disconnects an account.
  return { action: 'refresh', reason: remainingMs <= 0 ? R.expired : R.withinWindow }
}
