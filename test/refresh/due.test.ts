import t from 'tap'
import { decideRefresh, type DueRules } from '../../src/refresh/due.js'
import type { TokenRecord } from '../../src/store/token-item.js'

const NOW = Date.UTC(2026, 5, 1)
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

function record (overrides: Partial<TokenRecord>): TokenRecord {
  return {
    userId: 'u1',
    platform: 'tiktok',
    status: 'connected',
    version: 3,
    account: { id: 'a' },
    scopes: [],
    expiresAtMs: NOW + HOUR,
    issuedAtMs: NOW - HOUR,
    connectedAtMs: NOW - DAY,
    hasRefreshToken: true,
    attempts: 0,
    sealed: { accessToken: 'x' },
    ...overrides
  }
}
const tiktok: DueRules = { windowMs: 12 * HOUR, lapseMarginMs: 34 * MIN }
const reddit: DueRules = { windowMs: 34 * MIN, lapseMarginMs: 34 * MIN }
const instagram: DueRules = { windowMs: 7 * DAY, lapseMarginMs: 34 * MIN, minRefreshAgeMs: DAY }

t.test('window: inside refreshes, outside was made fresh by another writer', async (t) => {
  t.same(decideRefresh(record({ expiresAtMs: NOW + 10 * MIN, issuedAtMs: NOW - 50 * MIN }), NOW, reddit), { action: 'refresh', reason: 'expires_within_window' })
  t.same(decideRefresh(record({ expiresAtMs: NOW + 35 * MIN }), NOW, reddit), { action: 'skip', reason: 'already_fresh' })
  t.same(decideRefresh(record({ expiresAtMs: NOW - MIN }), NOW, reddit), { action: 'refresh', reason: 'access_token_expired' }, 'an expired access token is refreshed with the refresh token')
})

t.test('half-life: a 2 h TikTok token under a 12 h window is not refreshed on every run', async (t) => {
  // Issued 10 minutes ago, 110 minutes left: more than half its life, and the next run comes in time.
  t.same(decideRefresh(record({ issuedAtMs: NOW - 10 * MIN, expiresAtMs: NOW + 110 * MIN }), NOW, tiktok), { action: 'defer', reason: 'too_young_half_life' })
  t.same(decideRefresh(record({ issuedAtMs: NOW - 61 * MIN, expiresAtMs: NOW + 59 * MIN }), NOW, tiktok), { action: 'refresh', reason: 'expires_within_window' })
})

t.test('the lapse margin wins over the half-life (1 h Reddit tokens under a 30 min schedule)', async (t) => {
  // 31 minutes left of 60: more than half, but the next run (30 min + budget) could come too late.
  t.same(decideRefresh(record({ issuedAtMs: NOW - 29 * MIN, expiresAtMs: NOW + 31 * MIN }), NOW, reddit), { action: 'refresh', reason: 'expires_within_window' })
})

t.test('backoff, claims and status', async (t) => {
  t.same(decideRefresh(record({ expiresAtMs: NOW + 5 * MIN, nextAttemptAtMs: NOW + MIN }), NOW, reddit), { action: 'defer', reason: 'backoff' })
  t.same(decideRefresh(record({ expiresAtMs: NOW + 5 * MIN, nextAttemptAtMs: NOW - 1 }), NOW, reddit).action, 'refresh')
  t.same(decideRefresh(record({ expiresAtMs: NOW + 5 * MIN, claimUntilMs: NOW + 1 }), NOW, reddit), { action: 'skip', reason: 'claimed_by_other' })
  t.same(decideRefresh(record({ expiresAtMs: NOW + 5 * MIN, claimUntilMs: NOW - 1 }), NOW, reddit).action, 'refresh', 'a claim that ran out is no obstacle')
  t.same(decideRefresh(record({ status: 'needs_reauth' }), NOW, reddit), { action: 'skip', reason: 'not_connected' })
  t.same(decideRefresh(record({ expiresAtMs: undefined }), NOW, reddit), { action: 'skip', reason: 'no_expiry' })
})

t.test('Instagram: at least 24 h old; an expiry in the past is left to the provider to judge', async (t) => {
  const sixtyDays = 60 * DAY
  t.same(decideRefresh(record({ issuedAtMs: NOW - 12 * HOUR, expiresAtMs: NOW + 6 * DAY }), NOW, instagram), { action: 'defer', reason: 'too_young_min_age' })
  t.same(decideRefresh(record({ issuedAtMs: NOW + 6 * DAY - sixtyDays, expiresAtMs: NOW + 6 * DAY }), NOW, instagram), { action: 'refresh', reason: 'expires_within_window' })
  // Our record may be wrong (an answer without expires_in is stored as expiring now): only Graph's
  // code 190 may disconnect the account.
  t.same(decideRefresh(record({ issuedAtMs: NOW - 2 * DAY, expiresAtMs: NOW - 1 }), NOW, instagram), { action: 'refresh', reason: 'access_token_expired' })
  t.same(decideRefresh(record({ issuedAtMs: NOW - HOUR, expiresAtMs: NOW - 1 }), NOW, instagram), { action: 'defer', reason: 'too_young_min_age' })
  t.same(decideRefresh(record({ issuedAtMs: NOW - 20 * DAY, expiresAtMs: NOW + 40 * DAY }), NOW, instagram), { action: 'skip', reason: 'already_fresh' })
})
