// REFRESH_MODE=on_demand on DynamoDB Local: the cron keeps grants alive (keepalive, a refresh token's
// own expiry) and leaves access tokens to use; the byExpiry entry of a token sits at its next deadline,
// so a run spends no read on a token that is not due.
import t from 'tap'
import { platformDueRules } from '../../src/refresh/due.js'
import { refreshOne } from '../../src/refresh/refresh-one.js'
import { startRun } from '../../src/refresh/run.js'
import { RedditFake } from '../fakes/reddit.js'
import { TiktokFake } from '../fakes/tiktok.js'
import { refreshSetup, seedTokens } from '../helpers/refresh.js'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

t.test('reddit on_demand: expired access tokens are left to use, idle grants are kept alive, nothing else is read', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REFRESH_MODE: 'on_demand', REDDIT_KEEPALIVE_MS: String(7 * DAY) })
  const seeded = await seedTokens(s.store, reddit, 3, { expiresInMs: HOUR, now: s.clock.now })
  const platforms = s.platformsFor(reddit)
  s.clock.advance(2 * HOUR)

  // Connected under the access expiry: found once, not due, moved to the keepalive deadline.
  const first = await startRun(s.options(platforms)).finished
  t.match(first, { refreshed: 0, skippedTokens: 3, results: [{ due: 3 }] })
  t.match(s.log.text, '"reason":"access_left_to_use"')
  t.equal(reddit.requestsTo('refresh').length, 0, 'no provider call for an expired access token')
  const moved = await s.store.get({ userId: seeded[0]?.userId ?? '', platform: 'reddit' })
  t.equal(moved?.dueAtMs, (moved?.connectedAtMs ?? 0) + 7 * DAY, 'index entry at the keepalive deadline')
  t.ok((moved?.expiresAtMs ?? Infinity) < s.clock.now(), 'the access expiry is kept beside it, unchanged')

  const second = await startRun(s.options(platforms)).finished
  t.match(second.results[0], { due: 0, refreshed: 0 }, 'the next run finds nothing to read')

  s.clock.advance(7 * DAY)
  const keepalive = await startRun(s.options(platforms)).finished
  t.match(keepalive.results[0], { due: 3, refreshed: 3 })
  t.match(s.log.text, '"reason":"grant_idle_keepalive"')
  const kept = await s.store.get({ userId: seeded[0]?.userId ?? '', platform: 'reddit' })
  t.equal(kept?.dueAtMs, (kept?.lastRefreshedAtMs ?? 0) + 7 * DAY, 'the next deadline counts from this refresh')
  t.ok((kept?.expiresAtMs ?? 0) > s.clock.now(), 'the new access token expiry is stored')
  t.match(await startRun(s.options(platforms)).finished, { refreshed: 0, results: [{ due: 0 }] })
})

t.test('tiktok on_demand: a refresh token near its own expiry is refreshed before the keepalive', async (t) => {
  const tiktok = await TiktokFake.start(t)
  const s = await refreshSetup(t, { ...tiktok.env(), TIKTOK_REFRESH_MODE: 'on_demand', TIKTOK_GRANT_WINDOW_MS: String(7 * DAY), TIKTOK_KEEPALIVE_MS: String(30 * DAY) })
  const [token] = await seedTokens(s.store, tiktok, 1, { expiresInMs: 2 * HOUR, now: s.clock.now })
  const key = { userId: token?.userId ?? '', platform: 'tiktok' }
  const platforms = s.platformsFor(tiktok)
  tiktok.refreshExpiresInSec = 8 * 86_400
  s.clock.advance(30 * DAY)
  t.match(await startRun(s.options(platforms)).finished, { refreshed: 1 }, 'idle for the keepalive')
  const after = await s.store.get(key)
  t.equal(after?.dueAtMs, (after?.refreshExpiresAtMs ?? 0) - 7 * DAY, 'next deadline: the refresh token\'s own expiry less the grant window')
  s.clock.advance(DAY - MIN)
  t.match(await startRun(s.options(platforms)).finished, { refreshed: 0, results: [{ due: 0 }] })
  s.clock.advance(2 * MIN)
  t.match(await startRun(s.options(platforms)).finished, { refreshed: 1 })
  t.match(s.log.text, '"reason":"refresh_token_expiring"')
})

t.test('a refresh on use (another caller\'s rules) stores the platform\'s on_demand deadline', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REFRESH_MODE: 'on_demand' })
  const [token] = await seedTokens(s.store, reddit, 1, { expiresInMs: MIN, now: s.clock.now })
  const [platform] = s.platformsFor(reddit)
  if (platform === undefined) throw new Error('no platform')
  const platformRules = platformDueRules(platform.config, platform.spec, 34 * MIN)
  const result = await refreshOne({
    store: s.store,
    now: s.clock.now,
    log: s.log,
    claimLeaseMs: 6_000,
    retentionDays: 30,
    rules: { windowMs: 5 * MIN, lapseMarginMs: 5 * MIN },
    platformRules
  }, platform, { userId: token?.userId ?? '', platform: 'reddit' }, 'use-1')
  t.equal(result.outcome, 'refreshed')
  t.equal(result.record?.dueAtMs, (result.record?.lastRefreshedAtMs ?? 0) + platform.config.keepaliveMs)
  t.ok((result.record?.expiresAtMs ?? 0) > s.clock.now() + 30 * MIN, 'the fresh access token\'s own expiry')
})

t.test('eager (the default) after on_demand: a write puts the access expiry back in the index', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REFRESH_MODE: 'on_demand' })
  const [token] = await seedTokens(s.store, reddit, 1, { expiresInMs: MIN, now: s.clock.now })
  const key = { userId: token?.userId ?? '', platform: 'reddit' }
  s.clock.advance(2 * MIN)
  await startRun(s.options(s.platformsFor(reddit))).finished
  const onDemand = await s.store.get(key)
  t.ok(onDemand !== undefined && onDemand.dueAtMs !== onDemand.expiresAtMs)
  const eager = await refreshSetup(t, reddit.env())
  const [platform] = eager.platformsFor(reddit)
  if (platform === undefined || onDemand === undefined) throw new Error('setup')
  const result = await refreshOne({ store: s.store, now: s.clock.now, log: s.log, claimLeaseMs: 6_000, retentionDays: 30, rules: platformDueRules(platform.config, platform.spec, 34 * MIN) }, platform, key, 'eager-1')
  t.equal(result.outcome, 'refreshed')
  t.equal(result.record?.dueAtMs, result.record?.expiresAtMs, 'index value = access expiry again')
  const raw = await s.table.dynamo.doc.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: s.table.name, Key: key }))
  t.equal(raw.Item?.accessExpiresAtMs, undefined, 'no on_demand attribute left')
})
