import t from 'tap'
import { decideRefresh, dueAtAfterWrite, handoutDueRules, nextGrantDeadlineMs, platformDueRules, queryHorizonMs, type DueRules } from '../../src/refresh/due.js'
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

// on_demand: the cron keeps grants alive; access tokens are left to the internal route.
const grant = { grantWindowMs: 7 * DAY, keepaliveMs: 7 * DAY }
const redditOnDemand: DueRules = { ...reddit, mode: 'on_demand', grant }
const tiktokOnDemand: DueRules = { ...tiktok, mode: 'on_demand', grant }
const instagramOnDemand: DueRules = { ...instagram, mode: 'on_demand', accessTokenIsGrant: true, grant }

t.test('on_demand: an expired access token of a live, recently refreshed grant is left to use', async (t) => {
  const r = record({ expiresAtMs: NOW - HOUR, issuedAtMs: NOW - 2 * HOUR, lastRefreshedAtMs: NOW - 2 * HOUR })
  t.same(decideRefresh(r, NOW, redditOnDemand), { action: 'skip', reason: 'access_left_to_use' })
  t.same(decideRefresh(r, NOW, reddit), { action: 'refresh', reason: 'access_token_expired' }, 'eager refreshes the same token')
})

t.test('on_demand: a refresh token whose own expiry is inside the grant window is refreshed', async (t) => {
  const base = { expiresAtMs: NOW - HOUR, lastRefreshedAtMs: NOW - DAY }
  t.same(decideRefresh(record({ ...base, refreshExpiresAtMs: NOW + 6 * DAY }), NOW, tiktokOnDemand), { action: 'refresh', reason: 'refresh_token_expiring' })
  t.same(decideRefresh(record({ ...base, refreshExpiresAtMs: NOW + 8 * DAY }), NOW, tiktokOnDemand), { action: 'skip', reason: 'access_left_to_use' })
  t.same(decideRefresh(record({ ...base, refreshExpiresAtMs: NOW + 6 * DAY, nextAttemptAtMs: NOW + MIN }), NOW, tiktokOnDemand), { action: 'defer', reason: 'backoff' }, 'backoff still holds')
  t.same(decideRefresh(record({ ...base, refreshExpiresAtMs: NOW + 6 * DAY, claimUntilMs: NOW + MIN }), NOW, tiktokOnDemand), { action: 'skip', reason: 'claimed_by_other' })
})

t.test('on_demand: a grant idle for the keepalive is refreshed, counted from the last refresh or the connection', async (t) => {
  const connectedAtMs = NOW - 30 * DAY
  t.same(decideRefresh(record({ expiresAtMs: NOW - DAY, connectedAtMs, lastRefreshedAtMs: NOW - 7 * DAY }), NOW, redditOnDemand), { action: 'refresh', reason: 'grant_idle_keepalive' })
  t.same(decideRefresh(record({ expiresAtMs: NOW - DAY, connectedAtMs, lastRefreshedAtMs: NOW - 7 * DAY + 1 }), NOW, redditOnDemand), { action: 'skip', reason: 'access_left_to_use' })
  t.same(decideRefresh(record({ expiresAtMs: NOW - DAY, connectedAtMs: NOW - 8 * DAY }), NOW, redditOnDemand), { action: 'refresh', reason: 'grant_idle_keepalive' }, 'never refreshed: from the connection')
  t.same(decideRefresh(record({ status: 'needs_reauth', connectedAtMs: NOW - 8 * DAY }), NOW, redditOnDemand), { action: 'skip', reason: 'not_connected' })
})

t.test('on_demand: a token that is itself the grant (Instagram) follows the eager rules', async (t) => {
  const sixtyDays = 60 * DAY
  const r = record({ issuedAtMs: NOW + 6 * DAY - sixtyDays, expiresAtMs: NOW + 6 * DAY, lastRefreshedAtMs: NOW - DAY })
  t.same(decideRefresh(r, NOW, instagramOnDemand), decideRefresh(r, NOW, instagram))
  t.same(decideRefresh(r, NOW, instagramOnDemand), { action: 'refresh', reason: 'expires_within_window' })
  t.equal(queryHorizonMs(instagramOnDemand), instagram.windowMs, 'its query reaches as far as the window')
})

t.test('on_demand: the index value is the next grant-keeping deadline, and the query reaches no further than now', async (t) => {
  t.equal(nextGrantDeadlineMs({ connectedAtMs: NOW - DAY, lastRefreshedAtMs: NOW }, grant), NOW + 7 * DAY, 'keepalive from the last refresh')
  t.equal(nextGrantDeadlineMs({ connectedAtMs: NOW, refreshExpiresAtMs: NOW + 10 * DAY }, grant), NOW + 3 * DAY, 'the refresh token deadline comes first')
  t.equal(queryHorizonMs(redditOnDemand), 0)
  t.equal(queryHorizonMs(reddit), reddit.windowMs)
  t.equal(dueAtAfterWrite({ expiresAtMs: NOW + HOUR, connectedAtMs: NOW, lastRefreshedAtMs: NOW }, reddit), NOW + HOUR, 'eager: the access expiry')
  t.equal(dueAtAfterWrite({ expiresAtMs: NOW + HOUR, connectedAtMs: NOW, lastRefreshedAtMs: NOW }, redditOnDemand), NOW + 7 * DAY)
  // Whatever the record, "found by the on_demand query" (deadline <= now) and "due" agree.
  const connectedAtMs = NOW - 30 * DAY
  for (const [lastRefreshedAtMs, refreshExpiresAtMs] of [[NOW - 7 * DAY, undefined], [NOW - DAY, NOW + 7 * DAY], [NOW - DAY, NOW + 7 * DAY + 1], [NOW - 7 * DAY + 1, undefined]] as const) {
    const r = record({ expiresAtMs: NOW - HOUR, connectedAtMs, lastRefreshedAtMs, refreshExpiresAtMs })
    t.equal(nextGrantDeadlineMs(r, grant) <= NOW, decideRefresh(r, NOW, redditOnDemand).action === 'refresh', `deadline and decision agree (${lastRefreshedAtMs - NOW}, ${String(refreshExpiresAtMs)})`)
  }
  t.same(platformDueRules({ refreshWindowMs: 1, refreshMode: 'on_demand', grantWindowMs: 2, keepaliveMs: 3 }, { accessTokenIsGrant: true }, 4),
    { windowMs: 1, lapseMarginMs: 4, minRefreshAgeMs: undefined, mode: 'on_demand', accessTokenIsGrant: true, grant: { grantWindowMs: 2, keepaliveMs: 3 } })
})

t.test('the handout preset: the min TTL is the window; forced, any token, but claims, backoff and the minimum age still hold', async (t) => {
  const minTtl = 5 * MIN
  const read = handoutDueRules(minTtl, {}, false)
  const forced = handoutDueRules(minTtl, { minRefreshAgeMs: DAY }, true)
  t.same(decideRefresh(record({ expiresAtMs: NOW + 6 * MIN }), NOW, read), { action: 'skip', reason: 'already_fresh' })
  t.same(decideRefresh(record({ expiresAtMs: NOW + 4 * MIN, issuedAtMs: NOW - MIN }), NOW, read), { action: 'refresh', reason: 'expires_within_window' }, 'never held back by the half-life rule')
  t.same(decideRefresh(record({ expiresAtMs: NOW + 50 * DAY, issuedAtMs: NOW - 2 * DAY }), NOW, forced), { action: 'refresh', reason: 'forced' }, 'forced: outside the window, and past half its life or not')
  t.same(decideRefresh(record({ expiresAtMs: NOW + 2 * MIN, issuedAtMs: NOW - 2 * DAY }), NOW, forced), { action: 'refresh', reason: 'expires_within_window' }, 'forced inside the min TTL is an ordinary refresh (no force slot)')
  t.same(decideRefresh(record({ expiresAtMs: NOW + 50 * DAY, issuedAtMs: NOW - HOUR }), NOW, forced), { action: 'defer', reason: 'too_young_min_age' })
  t.same(decideRefresh(record({ expiresAtMs: NOW + 50 * DAY, issuedAtMs: NOW - 2 * DAY, claimUntilMs: NOW + MIN }), NOW, forced), { action: 'skip', reason: 'claimed_by_other' })
  t.same(decideRefresh(record({ expiresAtMs: NOW + 50 * DAY, issuedAtMs: NOW - 2 * DAY, nextAttemptAtMs: NOW + MIN }), NOW, forced), { action: 'defer', reason: 'backoff' })
  t.same(decideRefresh(record({ status: 'needs_reauth' }), NOW, forced), { action: 'skip', reason: 'not_connected' })
})
