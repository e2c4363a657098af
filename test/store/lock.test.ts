import t from 'tap'
import { createCipher } from '../../src/store/crypto.js'
import { acquireLockParams, forceReleaseLockParams, LOCK_KEY, releaseLockParams } from '../../src/store/lock-params.js'
import { lockLeaseMs } from '../../src/config.js'
import { createLock } from '../../src/store/lock.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { PLATFORM_NAMES } from '../../src/platforms/registry.js'
import { createTestTable, testConfig } from '../helper.js'

t.test('lock parameters, as data', async (t) => {
  const acquire = acquireLockParams('tbl', 'run-1', 1_000, 500)
  t.same(acquire.Key, { userId: 'cron', platform: 'refresh-oauth' })
  t.equal(acquire.ConditionExpression, '(attribute_not_exists(#expiresAt) OR #expiresAt < :nowMs)')
  t.same(acquire.ExpressionAttributeValues, { ':leaseEndMs': 1_500, ':runId': 'run-1', ':nowMs': 1_000 })
  t.equal(acquire.ReturnValuesOnConditionCheckFailure, 'ALL_OLD')
  for (const params of [acquire, releaseLockParams('tbl', 'run-1'), releaseLockParams('tbl', 'run-1', { a: 1 }), forceReleaseLockParams('tbl', 5)]) {
    // Every attribute goes through a name placeholder.
    const expression = `${params.UpdateExpression ?? ''} ${params.ConditionExpression ?? ''}`
    t.notMatch(expression.replace(/#[A-Za-z]+|:[A-Za-z]+/g, ''), /expiresAt|runId|lastRun/, expression)
  }
  t.equal(releaseLockParams('tbl', 'run-1').ConditionExpression, '#runId = :runId', 'release is conditioned on the owner')
  t.equal(forceReleaseLockParams('tbl', 5).ConditionExpression, '#expiresAt < :nowMs', 'force only after the lease ended')
  t.ok(lockLeaseMs(240_000, 10_000) > 240_000, 'the lease outlasts the run budget')
  t.equal(LOCK_KEY.platform, 'refresh-oauth')
  t.notOk((PLATFORM_NAMES as readonly string[]).includes(LOCK_KEY.platform), 'the lock platform is no platform a refresher queries')
})

t.test('the lock on DynamoDB Local', async (t) => {
  const table = await createTestTable(t)
  let nowMs = 1_800_000_000_000
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 60_000, now: () => nowMs })

  t.same(await lock.status(), { held: false, runId: null, acquiredAtMs: null, expiresAtMs: null, lastRun: null }, 'free before first use')
  t.same(await lock.acquire('run-a'), { acquired: true, runId: 'run-a', expiresAtMs: nowMs + 60_000 })
  t.same(await lock.acquire('run-b'), { acquired: false, heldBy: 'run-a', expiresAtMs: nowMs + 60_000 }, 'ALL_OLD names the holder (unmarshalled)')
  t.same(await lock.forceRelease(), { released: false, reason: 'not_expired', heldBy: 'run-a', expiresAtMs: nowMs + 60_000 }, 'a live lease is never forced')

  nowMs += 60_001
  t.equal((await lock.status()).held, false, 'a lease that ended is not held')
  t.same(await lock.acquire('run-b'), { acquired: true, runId: 'run-b', expiresAtMs: nowMs + 60_000 }, 'taken over once the lease ended')
  const late = await lock.release('run-a', { runId: 'run-a', finishedAtMs: nowMs })
  t.match(late, { released: false, reason: 'not_holder', heldBy: 'run-b' }, "a run whose lease ran out cannot free another run's lock")
  t.equal((await lock.status()).runId, 'run-b')

  t.same(await lock.release('run-b', { runId: 'run-b', finishedAtMs: nowMs, refreshed: 3 }), { released: true })
  const state = await lock.status()
  t.equal(state.held, false)
  t.same(state.lastRun, { runId: 'run-b', finishedAtMs: nowMs, refreshed: 3 }, 'the summary lands in the release write')
  t.equal(await lock.recordSummary({ runId: 'run-a', finishedAtMs: nowMs - 1 }), false, 'an older summary never replaces a newer one')
  t.equal(await lock.recordSummary({ runId: 'run-c', finishedAtMs: nowMs + 1 }), true)
  t.equal((await lock.status()).lastRun?.runId, 'run-c')
  t.match(await lock.release('run-b'), { released: false, reason: 'not_held' })

  t.equal((await lock.acquire('run-d')).acquired, true)
  nowMs += 60_001
  t.same(await lock.forceRelease(), { released: true }, 'an operator may clear a lease that ended')
  t.equal((await lock.status()).runId, null)
  t.equal((await lock.status()).lastRun?.runId, 'run-c', 'forcing keeps the last summary')
})

t.test('20 concurrent acquirers: exactly one wins, the others are told who', async (t) => {
  const table = await createTestTable(t)
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 60_000 })
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => lock.acquire(`run-${i}`)))
  const winners = results.filter((r) => r.acquired)
  t.equal(winners.length, 1)
  const winner = winners[0]
  for (const r of results) if (!r.acquired) t.equal(r.heldBy, winner?.acquired === true ? winner.runId : 'none')
})

t.test('the lock item is never taken for a due token', async (t) => {
  const table = await createTestTable(t)
  const config = testConfig({ TOKENS_TABLE: table.name })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys) })
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 60_000 })
  await lock.acquire('run-x')
  for (const platform of PLATFORM_NAMES) {
    const pages = []
    for await (const page of store.queryDue(platform, Date.now() + 365 * 86_400_000)) pages.push(page)
    t.same(pages, [], `${platform}: nothing due`)
  }
})

t.test('a store that does not answer: acquire throws StoreUnavailableError', async (t) => {
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })
  t.teardown(() => dynamo.client.destroy())
  const lock = createLock({ doc: dynamo.doc, table: 'nowhere', leaseMs: 60_000 })
  await t.rejects(lock.acquire('run-z'), { name: 'StoreUnavailableError', code: 'store_unavailable' })
  await t.rejects(lock.status(), { name: 'StoreUnavailableError' })
})

t.test('an acquire the SDK retried after its first attempt landed: the caller holds the lock, not "locked by itself"', async (t) => {
  const table = await createTestTable(t, 'lock-retry')
  const nowMs = 1_800_000_000_000
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 60_000, now: () => nowMs })
  t.match(await lock.acquire('run-1'), { acquired: true, runId: 'run-1' })
  // The same write again, as the SDK's retry sends it: the condition fails on the item run-1 wrote.
  t.same(await lock.acquire('run-1'), { acquired: true, runId: 'run-1', expiresAtMs: nowMs + 60_000 })
  t.match(await lock.acquire('run-2'), { acquired: false, heldBy: 'run-1' }, 'another run is still refused')
})
