// The pass as a whole: budget (partial), request cap, half-life (no churn), lost races, concurrency,
// and DynamoDB stopping in the middle of a run (on the real wire, through a proxy that is cut).
import t from 'tap'
import { claimLeaseMs } from '../../src/config.js'
import { createRefreshRunner } from '../../src/refresh/refresh-runner.js'
import { refreshOne } from '../../src/refresh/refresh-one.js'
import { startRun } from '../../src/refresh/run.js'
import { createCipher } from '../../src/store/crypto.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { createLock } from '../../src/store/lock.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { TiktokFake } from '../fakes/tiktok.js'
import { dynamoEndpoint } from '../helper.js'
import { batchGetProxy } from '../helpers/batch-get-proxy.js'
import { cuttableProxy, refreshSetup, seedTokens, waitFor } from '../helpers/refresh.js'

const MIN = 60_000
const HOUR = 60 * MIN

t.test('the run budget ends a pass early with partial: true; the next run takes the rest', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REFRESH_CONCURRENCY: '1' })
  await seedTokens(s.store, reddit, 8, { expiresInMs: 10 * MIN, now: s.clock.now })
  reddit.latencyMs = 300
  const platforms = s.platformsFor(reddit)
  const first = await startRun(s.options(platforms, { runBudgetMs: 700 })).finished
  t.equal(first.partial, true)
  t.ok(first.refreshed >= 1 && first.refreshed < 8, `refreshed ${first.refreshed} before the budget ran out`)
  reddit.latencyMs = 0
  const second = await startRun(s.options(platforms)).finished
  t.equal(second.partial, false)
  t.equal(first.refreshed + second.refreshed, 8, 'what the first run did not reach, the second did')
})

t.test('the request cap defers what does not fit in the minute', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REQUESTS_PER_MINUTE: '6', REDDIT_CRON_REQUESTS_PER_MINUTE: '3' })
  await seedTokens(s.store, reddit, 5, { expiresInMs: 10 * MIN, now: s.clock.now })
  const summary = await startRun(s.options(s.platformsFor(reddit), { runBudgetMs: 2_000, budget: s.budget })).finished
  t.match(summary, { refreshed: 3, deferred: 2 })
  t.equal(reddit.requestsTo('refresh').length, 3, 'never more than the cron\'s share of the cap reached the provider')
  t.match(s.log.text, '"reason":"rate_cap"')
})

t.test('half-life: 2 h TikTok tokens under the 12 h window are not rotated on every run', async (t) => {
  const tiktok = await TiktokFake.start(t)
  const s = await refreshSetup(t, { ...tiktok.env(), TIKTOK_REFRESH_CONCURRENCY: '1' })
  const seeded = await seedTokens(s.store, tiktok, 3, { expiresInMs: 2 * HOUR, now: s.clock.now })
  const platforms = s.platformsFor(tiktok)
  const fresh = await startRun(s.options(platforms)).finished
  t.match(fresh, { refreshed: 0, deferred: 3 }, 'just issued: deferred as too young')
  t.equal(tiktok.requestsTo('refresh').length, 0)
  t.match(s.log.text, 'too_young_half_life')
  s.clock.advance(61 * MIN)
  // One key per page: the refreshed tokens' new expiries (2 h) fall inside the 12 h window, ahead
  // of the query's cursor, and come up again in the same pass.
  const half = await startRun(s.options(platforms, { pageSize: 1 })).finished
  t.match(half, { refreshed: 3, deferred: 0, skippedTokens: 0 }, 'past half its life: refreshed')
  t.equal(half.results[0]?.due, 3, 'a token this run refreshed is not read again when it comes up again')
  for (const token of seeded) t.equal(tiktok.isValid(token.refreshToken ?? ''), false, 'rotated: the old refresh token is dead')
  const again = await startRun(s.options(platforms)).finished
  t.match(again, { refreshed: 0 }, 'the new tokens are not refreshed again at once')
})

t.test('tiktok-index-reread: a token refreshed by the run is not met again in the index, urgent or not', async (t) => {
  const tiktok = await TiktokFake.start(t)
  const s = await refreshSetup(t, { ...tiktok.env(), TIKTOK_REFRESH_CONCURRENCY: '1' })
  // Two past half their life but able to wait (59 min left > the 34 min lapse margin), two urgent (20 min).
  await seedTokens(s.store, tiktok, 2, { expiresInMs: 2 * HOUR, now: s.clock.now, prefix: 'later' })
  s.clock.advance(61 * MIN)
  await seedTokens(s.store, tiktok, 2, { expiresInMs: 20 * MIN, now: () => s.clock.now() - 100 * MIN, prefix: 'urgent' })
  let entries = 0
  s.table.dynamo.client.middlewareStack.add((next, context) => async (args) => {
    const result = await next(args)
    if (context.commandName === 'QueryCommand') entries += (result.output as { Items?: unknown[] }).Items?.length ?? 0
    return result
  }, { step: 'initialize', name: 'countIndexEntries' })
  const summary = await startRun(s.options(s.platformsFor(tiktok), { pageSize: 1 })).finished
  t.match(summary, { refreshed: 4, results: [{ due: 4 }] })
  t.equal(entries, 4, 'one index entry read per due token: none read again after its refresh')
})

t.test('invalid_grant for a refresh token that was replaced meanwhile is a lost race, not a revocation', async (t) => {
  const tiktok = await TiktokFake.start(t)
  const s = await refreshSetup(t, tiktok.env())
  const [token] = await seedTokens(s.store, tiktok, 1, { expiresInMs: 10 * MIN, now: s.clock.now })
  const key = { userId: token?.userId ?? '', platform: 'tiktok' }
  tiktok.latencyMs = 600
  tiktok.failNext('refresh', { kind: 'invalid_grant' })
  const run = startRun(s.options(s.platformsFor(tiktok)))
  await waitFor(() => tiktok.requestsTo('refresh').length === 1)
  // The user reconnects while the refresh is in flight.
  const grant = tiktok.seedGrant()
  await s.store.saveConnection({ ...key, account: { id: 'acct-0' }, scopes: [], accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAtMs: s.clock.now() + 2 * HOUR })
  const summary = await run.finished
  t.match(summary, { needsReauth: 0, skippedTokens: 1 })
  const record = await s.store.get(key)
  t.equal(record?.status, 'connected', 'the new connection is untouched')
  t.equal(s.store.openSecrets(record!).refreshToken, grant.refreshToken)
  t.match(s.log.text, '"reason":"lost_race"')
})

t.test('each page of due keys is re-read in one BatchGetItem; a key DynamoDB leaves unprocessed is read alone, and refreshed', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, reddit.env())
  const seeded = await seedTokens(s.store, reddit, 7, { expiresInMs: 10 * MIN, now: s.clock.now })
  const proxy = await batchGetProxy(t, dynamoEndpoint())
  const held = seeded[2]?.userId
  proxy.hold = (userId) => userId === held
  const viaProxy = createDynamoClients({ region: 'us-east-1', endpoint: proxy.endpoint })
  t.teardown(() => viaProxy.client.destroy())
  const gets: string[] = []
  viaProxy.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'GetItemCommand') gets.push(String((args.input as { Key?: { userId?: { S?: string } } }).Key?.userId?.S))
    return await next(args)
  }, { step: 'serialize', name: 'countGets', priority: 'low' })
  const store = createTokenStore({ doc: viaProxy.doc, table: s.table.name, cipher: createCipher(s.config.encryptionKeys), now: s.clock.now })

  const summary = await startRun({ ...s.options(s.platformsFor(reddit)), store, pageSize: 5 }).finished
  t.match(summary, { refreshed: 7, failed: 0, skippedTokens: 0 })
  // Which page holds the held key depends on the expiries seeding gave: compare without the order.
  t.same([...proxy.batchCalls].sort(), [1, 1, 2, 5], 'a page of 5 and a page of 2, and the held key asked twice more')
  t.same(gets, [held], 'only the key the batches never read is read alone')
  t.same(reddit.requestsTo('refresh').map((r) => r.form.refresh_token).sort(), seeded.map((token) => token.refreshToken).sort(), 'each refresh token sent once')
})

t.test('a token rewritten between the batch read and its claim is decided again on what was written', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, reddit.env())
  const [platform] = s.platformsFor(reddit)
  if (platform === undefined) throw new Error('no platform')
  const ctx = {
    store: s.store,
    now: s.clock.now,
    log: s.log,
    rules: { windowMs: platform.config.refreshWindowMs, lapseMarginMs: 40 * MIN },
    claimLeaseMs: 6_000,
    retentionDays: 30
  }
  const reconnect = async (userId: string, expiresInMs: number): Promise<string> => {
    const grant = reddit.seedGrant()
    await s.store.saveConnection({ userId, platform: 'reddit', account: { id: 'acct' }, scopes: [], accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAtMs: s.clock.now() + expiresInMs })
    return grant.refreshToken ?? ''
  }

  // Reconnected with a grant that is due too: refreshed with the new refresh token, never the old one.
  const [due, fresh] = await seedTokens(s.store, reddit, 2, { expiresInMs: 10 * MIN, now: s.clock.now })
  const seen = await s.store.get({ userId: due?.userId ?? '', platform: 'reddit' })
  const newer = await reconnect(due?.userId ?? '', 5 * MIN)
  const result = await refreshOne(ctx, platform, { userId: due?.userId ?? '', platform: 'reddit' }, 'claim-1', { record: seen })
  t.equal(result.outcome, 'refreshed')
  t.same(reddit.requestsTo('refresh').map((r) => r.form.refresh_token), [newer], 'only the refresh token now stored was sent')

  // Reconnected with a fresh grant: nothing to do.
  const before = await s.store.get({ userId: fresh?.userId ?? '', platform: 'reddit' })
  await reconnect(fresh?.userId ?? '', 2 * HOUR)
  const skipped = await refreshOne(ctx, platform, { userId: fresh?.userId ?? '', platform: 'reddit' }, 'claim-2', { record: before })
  t.match(skipped, { outcome: 'skipped', reason: 'already_fresh' })
  t.equal(reddit.requestsTo('refresh').length, 1, 'no provider call')

  // The item is gone since the batch read: skipped as gone, nothing sent.
  t.match(await refreshOne(ctx, platform, { userId: 'gone', platform: 'reddit' }, 'claim-3', { record: undefined }), { outcome: 'skipped', reason: 'gone' })
})

t.test('bounded concurrency per platform', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REFRESH_CONCURRENCY: '3' })
  await seedTokens(s.store, reddit, 12, { expiresInMs: 10 * MIN, now: s.clock.now })
  reddit.latencyMs = 100
  let inFlight = 0
  let peak = 0
  const counting = reddit.server.onRequest
  reddit.server.onRequest = (request) => {
    counting?.(request)
    inFlight++
    peak = Math.max(peak, inFlight)
    setTimeout(() => { inFlight-- }, 100)
  }
  const summary = await startRun(s.options(s.platformsFor(reddit))).finished
  t.equal(summary.refreshed, 12)
  t.ok(peak <= 3, `at most 3 provider calls at once (saw ${peak})`)
})

t.test('DynamoDB stops in the middle of a run: nothing is marked needs_reauth, the lock is released, nothing is lost', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REFRESH_CONCURRENCY: '2', PROVIDER_TIMEOUT_MS: '1000' })
  const seeded = await seedTokens(s.store, reddit, 8, { expiresInMs: 10 * MIN, now: s.clock.now })
  const proxy = await cuttableProxy(t, dynamoEndpoint())
  const viaProxy = createDynamoClients({ region: 'us-east-1', endpoint: proxy.endpoint, maxAttempts: 2 })
  t.teardown(() => viaProxy.client.destroy())
  const store = createTokenStore({ doc: viaProxy.doc, table: s.table.name, cipher: createCipher(s.config.encryptionKeys), now: s.clock.now })
  const lock = createLock({ doc: viaProxy.doc, table: s.table.name, leaseMs: 60_000, now: s.clock.now })
  const runs = createRefreshRunner({
    lock,
    store,
    platforms: () => s.platformsFor(reddit),
    now: s.clock.now,
    log: s.log,
    run: { runBudgetMs: 30_000, lapseMarginMs: 30 * MIN + 30_000, claimLeaseMs: claimLeaseMs(1_000), needsReauthRetentionDays: 30 }
  })
  reddit.latencyMs = 400
  const started = await runs.start('run-cut')
  if (!started.started) throw new Error('lock not taken')
  await waitFor(() => reddit.requestsTo('refresh').length >= 2)
  proxy.cut()
  // Answers arrive while the store is gone, for longer than the claims (3 × the 1 s provider timeout)
  // during which the refreshed tokens' writes are retried; then it comes back.
  await new Promise((resolve) => setTimeout(resolve, 3_500))
  proxy.restore()
  const summary = await started.settled

  t.equal(summary.error, 'store_unavailable')
  t.equal(summary.partial, true)
  t.equal(summary.needsReauth, 0)
  t.ok(summary.errorCodes.store_unavailable !== undefined && summary.errorCodes.store_unavailable >= 1)
  const state = await lock.status()
  t.equal(state.held, false, 'the lock was released')
  t.match(state.lastRun, { runId: 'run-cut', error: 'store_unavailable' })

  // Later (claims of the cut run have lapsed), a run brings everything up to date.
  s.clock.advance(10_000)
  const again = await runs.start('run-after')
  if (!again.started) throw new Error('lock not taken')
  const after = await again.settled
  t.equal(after.error, undefined)
  t.equal(after.needsReauth, 0)
  for (const token of seeded) {
    const record = await s.store.get({ userId: token.userId, platform: 'reddit' })
    t.equal(record?.status, 'connected', `${token.userId} still connected`)
    t.ok((record?.expiresAtMs ?? 0) > s.clock.now() + HOUR, `${token.userId} alive`)
    t.equal(record?.claimId, undefined, `${token.userId} not stuck claimed`)
    t.ok(reddit.isValid(s.store.openSecrets(record!).refreshToken ?? ''))
  }
  await runs.close()
})
