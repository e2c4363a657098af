// REFRESH_PARTS: a pass shared out in parts under leases. Two runners on one table (two instances'
// worth of state: locks, leases, budgets, all in DynamoDB Local) share one pass; every token is
// refreshed once, the parts' summaries add up, and REFRESH_PARTS=1 leaves no part behind.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createLock } from '../../src/store/lock.js'
import { createPartLeases } from '../../src/store/part-leases.js'
import { listPartsParams, openPartParams, partKey, takePartParams } from '../../src/store/part-lease-params.js'
import { partOf } from '../../src/refresh/part-of.js'
import { addSummaries } from '../../src/refresh/parts.js'
import { createRefreshRunner, type RefreshRunner } from '../../src/refresh/refresh-runner.js'
import { decodeRunSummary } from '../../src/refresh/summary.js'
import { RedditFake } from '../fakes/reddit.js'
import { refreshSetup, seedTokens, waitFor, type RefreshSetup } from '../helpers/refresh.js'
import type { Platform } from '../../src/platforms/platform.js'

const MIN = 60_000

function runnerOn (s: RefreshSetup, platforms: Platform[], parts: number, leaseMs = 2_000): RefreshRunner {
  return createRefreshRunner({
    lock: createLock({ doc: s.table.dynamo.doc, table: s.table.name, leaseMs: 60_000, now: s.clock.now }),
    store: s.store,
    platforms: () => platforms,
    now: s.clock.now,
    log: s.log,
    run: { runBudgetMs: 30_000, lapseMarginMs: s.config.run.lapseMarginMs, claimLeaseMs: 6_000, needsReauthRetentionDays: 30 },
    budget: s.budget,
    parts: { count: parts, leases: createPartLeases({ doc: s.table.dynamo.doc, table: s.table.name, leaseMs, now: s.clock.now }), holder: randomUUID(), pollMs: 100 }
  })
}

t.test('partOf spreads user ids over the parts and never moves one', async (t) => {
  const counts = [0, 0, 0, 0]
  for (let i = 0; i < 4_000; i++) counts[partOf(`user-${i}`, 4)] = (counts[partOf(`user-${i}`, 4)] ?? 0) + 1
  t.ok(counts.every((n) => n > 800 && n < 1_200), `even enough: ${counts.join(', ')}`)
  t.equal(partOf('user-7', 4), partOf('user-7', 4))
  t.equal(partOf('anyone', 1), 0)
})

t.test('part lease params: a part is taken only while open or its lease has run out, within its pass', async (t) => {
  const take = takePartParams('tbl', 'pass-1', 3, 'me', 1_000, 500)
  t.same(take.Key, partKey(3))
  t.match(take.ConditionExpression, /#passId = :passId AND #deadlineAtMs > :nowMs AND \(#partState = :open OR \(#partState = :taken AND #leaseUntilMs < :nowMs\)\)/)
  t.equal(take.ExpressionAttributeValues?.[':leaseUntilMs'], 1_500)
  const open = openPartParams('tbl', 'pass-1', 0, 2, 9_000)
  t.notOk('expiresAt' in (open.Item ?? {}), 'a part never enters the byExpiry index')
  t.match(listPartsParams('tbl', true), { KeyConditionExpression: '#userId = :userId AND begins_with(#platform, :prefix)' })
})

t.test('addSummaries adds the parts up, partial when a part is missing', async (t) => {
  const part = (refreshed: number): Parameters<typeof addSummaries>[3][number] => ({
    runId: 'x',
    done: true,
    partial: false,
    startedAtMs: 0,
    finishedAtMs: 1,
    durationMs: 1,
    refreshed,
    failed: 1,
    needsReauth: 0,
    deferred: 2,
    skippedTokens: 0,
    results: [{ platform: 'reddit', configured: true, due: refreshed + 3, refreshed, failed: 1, needsReauth: 0, deferred: 2, skippedTokens: 0 }],
    errorCodes: { timeout: 1 }
  })
  const sum = addSummaries('pass', 10, 20, [part(3), part(4)], true)
  t.match(sum, { runId: 'pass', refreshed: 7, failed: 2, deferred: 4, partial: false, errorCodes: { timeout: 2 }, durationMs: 10 })
  t.match(sum.results, [{ platform: 'reddit', due: 13, refreshed: 7 }])
  t.equal(addSummaries('pass', 10, 20, [part(3)], false).partial, true)
})

t.test('two instances share one pass in two parts: each token refreshed once, the summary adds the parts up', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REQUESTS_PER_MINUTE: '100000', REDDIT_REFRESH_CONCURRENCY: '2' })
  const seeded = await seedTokens(s.store, reddit, 40, { expiresInMs: 10 * MIN, now: s.clock.now })
  reddit.latencyMs = 50
  const platforms = s.platformsFor(reddit)
  const a = runnerOn(s, platforms, 2)
  const b = runnerOn(s, platforms, 2)
  t.teardown(async () => { await Promise.all([a.close(), b.close()]) })
  const started = await a.start('pass-1')
  if (!started.started) throw new Error('not started')
  // B learns of the pass as the plugin's timer would make it: by looking for open parts.
  await waitFor(async () => { await b.joinOpenPass(); return (await createPartLeases({ doc: s.table.dynamo.doc, table: s.table.name, leaseMs: 1, now: s.clock.now }).list(true)).some((p) => p.takenCount > 0 && p.state !== 'open') })
  const summary = await started.settled
  t.match(summary, { runId: 'pass-1', refreshed: 40, failed: 0, partial: false })
  t.equal(reddit.requestsTo('refresh').length, 40, 'no token refreshed twice')
  const parts = await createPartLeases({ doc: s.table.dynamo.doc, table: s.table.name, leaseMs: 1, now: s.clock.now }).list(true)
  t.equal(parts.length, 2)
  t.ok(parts.every((p) => p.state === 'done' && p.passId === 'pass-1'))
  t.equal(new Set(parts.map((p) => p.holder)).size, 2, 'each instance ran a part')
  const perPart = parts.map((p) => decodeRunSummary(p.summary)?.refreshed ?? -1)
  t.equal(perPart.reduce((x, y) => x + y, 0), 40)
  t.same(perPart.sort(), [0, 1].map((i) => seeded.filter((x) => partOf(x.userId, 2) === i).length).sort(), 'each part refreshed its own tokens')
  const last = await createLock({ doc: s.table.dynamo.doc, table: s.table.name, leaseMs: 1 }).status()
  t.match(decodeRunSummary(last.lastRun), { runId: 'pass-1', refreshed: 40 }, '/last reads the parts added up')
})

t.test('REFRESH_PARTS=1: one run as before, no part item written', async (t) => {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REQUESTS_PER_MINUTE: '100000' })
  await seedTokens(s.store, reddit, 5, { expiresInMs: 10 * MIN, now: s.clock.now })
  const runner = runnerOn(s, s.platformsFor(reddit), 1)
  t.teardown(() => runner.close())
  const started = await runner.start('run-1')
  if (!started.started) throw new Error('not started')
  t.match(await started.settled, { refreshed: 5 })
  await runner.joinOpenPass()
  t.same(await createPartLeases({ doc: s.table.dynamo.doc, table: s.table.name, leaseMs: 1, now: s.clock.now }).list(true), [])
})
