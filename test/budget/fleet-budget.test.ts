// The fleet's provider budget on DynamoDB Local: the cap under contention, the cron's share, pauses
// seen by another instance, clocks apart, the units a call costs, and a store that does not answer.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createFleetBudget, type FleetBudget, type PlatformCaps } from '../../src/budget/fleet-budget.js'
import { createProviderGate } from '../../src/budget/provider-gate.js'
import { createProviderHttp, providerRequest, ProviderRefusedError } from '../../src/platforms/provider-http.js'
import { budgetKey, takeParams } from '../../src/store/budget-params.js'
import { createBudgetStore } from '../../src/store/budget-store.js'
import { createDynamoClients, type DynamoClients } from '../../src/store/dynamodb-client.js'
import { StoreUnavailableError } from '../../src/store/errors.js'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { createTestTable, dynamoEndpoint, type TestTable } from '../helper.js'
import { captureLogger, cuttableProxy, manualClock } from '../helpers/refresh.js'

// DynamoDB Local on a loaded machine can take seconds to answer: a patient client, so a slow answer is
// not taken for a store that is down (the test of a store that is down uses its own, impatient one).
const patient = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint(), requestTimeoutMs: 20_000 })
t.teardown(() => { patient.client.destroy() })

function budgetOn (table: TestTable, caps: PlatformCaps, now: () => number, doc = patient.doc, onUnits?: (u: number) => void): FleetBudget {
  return createFleetBudget({ store: createBudgetStore({ doc, table: table.name, onUnits }), caps: () => caps, now, log: captureLogger() })
}

/** The most calls inside any 60 s window of `times` (ms). */
function peakPerMinute (times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let peak = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? 0) <= (sorted[i] ?? 0) - 60_000) j++
    peak = Math.max(peak, i - j + 1)
  }
  return peak
}

t.test('takeParams: the window stated bucket by bucket, the current bucket under its limit, the pause in the same condition', async (t) => {
  const params = takeParams('tbl', { platform: 'reddit', nowMs: 10_000, bucket: 5, others: [[3, 2], [4, 0]], limit: 7, cron: { others: [[3, 1], [4, 0]], limit: 3 }, stale: ['n1'] })
  t.same(params.Key, budgetKey('reddit'))
  t.equal(params.UpdateExpression, 'ADD #n :one, #c :one SET #ttl = :ttl REMOVE #x0')
  t.equal(params.ConditionExpression, '(attribute_not_exists(#paused) OR #paused <= :nowMs) AND #n0 = :n0 AND attribute_not_exists(#n1) AND (attribute_not_exists(#n) OR #n < :n) AND #c0 = :c0 AND attribute_not_exists(#c1) AND (attribute_not_exists(#c) OR #c < :c)')
  t.match(params.ExpressionAttributeNames, { '#n0': 'n3', '#n1': 'n4', '#n': 'n5', '#c': 'c5', '#x0': 'n1' })
  t.match(params.ExpressionAttributeValues, { ':n0': 2, ':n': 7, ':c0': 1, ':c': 3 })
  t.equal(params.ReturnValuesOnConditionCheckFailure, 'ALL_OLD')
  t.equal(budgetKey('reddit').userId.includes('#'), true, 'never a user key')
})

t.test('50 concurrent callers on two instances: exactly the cap is granted', async (t) => {
  const table = await createTestTable(t)
  const a = budgetOn(table, { perMinute: 20 }, Date.now)
  const b = budgetOn(table, { perMinute: 20 }, Date.now)
  const decisions = await Promise.all(Array.from({ length: 50 }, async (_, i) => await (i % 2 === 0 ? a : b).take('reddit', 'on_use')))
  t.equal(decisions.filter((d) => d.ok).length, 20)
  const refused = decisions.filter((d) => !d.ok)
  t.equal(refused.length, 30)
  t.ok(refused.every((d) => !d.ok && d.reason === 'no_room' && d.retryAfterMs > 0 && d.retryAfterMs <= 70_000), 'each refusal says when room comes back')
})

t.test('the cron takes its share at most; calls on use still find the rest', async (t) => {
  const table = await createTestTable(t)
  const budget = budgetOn(table, { perMinute: 20, cronPerMinute: 8 }, Date.now)
  const cron = await Promise.all(Array.from({ length: 15 }, async () => await budget.take('reddit', 'cron')))
  t.equal(cron.filter((d) => d.ok).length, 8)
  const onUse = await Promise.all(Array.from({ length: 15 }, async () => await budget.take('reddit', 'on_use')))
  t.equal(onUse.filter((d) => d.ok).length, 12, 'cap 20 − the cron\'s 8')
  const defaultShare = budgetOn(table, { perMinute: 20 }, Date.now)
  const cronDefault = await Promise.all(Array.from({ length: 15 }, async () => await defaultShare.take('tiktok', 'cron')))
  t.equal(cronDefault.filter((d) => d.ok).length, 10, 'default share: half the cap')
})

t.test('a call on use waits for room up to its wait, then gets a Retry-After', async (t) => {
  const table = await createTestTable(t)
  const clock = manualClock()
  const budget = budgetOn(table, { perMinute: 2 }, clock.now)
  t.match(await budget.take('reddit', 'on_use'), { ok: true })
  t.match(await budget.take('reddit', 'on_use'), { ok: true })
  const started = Date.now()
  const refused = await budget.take('reddit', 'on_use', { waitMs: 300 })
  t.match(refused, { ok: false, reason: 'no_room' })
  t.ok(Date.now() - started < 1_000, 'no room within the wait: answered at once')
  clock.advance(75_000)
  t.match(await budget.take('reddit', 'on_use'), { ok: true }, 'the window moved on')
})

t.test('Retry-After: 20 seen by one instance pauses the platform on the other, for 20 s', async (t) => {
  const table = await createTestTable(t)
  const clock = manualClock()
  const a = budgetOn(table, { perMinute: 100 }, clock.now)
  const b = budgetOn(table, { perMinute: 100 }, clock.now)
  const uncapped = budgetOn(table, {}, clock.now)
  t.match(await b.take('reddit', 'on_use'), { ok: true })
  await a.observe('reddit', { status: 429, headers: new Headers({ 'retry-after': '20' }) })
  const item = await table.dynamo.doc.send(new GetCommand({ TableName: table.name, Key: budgetKey('reddit'), ConsistentRead: true }))
  const until = item.Item?.pausedUntilMs as number
  t.ok(until <= clock.now() + 20_000 && until > clock.now() + 15_000, 'paused 20 s from the answer')
  const paused = await b.take('reddit', 'on_use')
  t.match(paused, { ok: false, reason: 'paused' })
  t.ok(!paused.ok && paused.retryAfterMs > 15_000 && paused.retryAfterMs <= 20_000)
  t.match(await uncapped.take('reddit', 'on_use'), { ok: false, reason: 'paused' }, 'an uncapped platform obeys the pause too')
  t.match(await b.take('tiktok', 'on_use'), { ok: true }, 'other platforms go on')
  clock.advance(until - 3_000 - clock.now())
  t.match(await b.take('reddit', 'cron'), { ok: false, reason: 'paused' })
  clock.advance(until + 500 - clock.now())
  t.match(await b.take('reddit', 'cron'), { ok: true }, 'the pause ended')
  // A shorter push-back later never cuts a longer pause short.
  await a.observe('reddit', { status: 429, headers: new Headers({ 'retry-after': '30' }) })
  await b.observe('reddit', { status: 429, headers: new Headers({ 'retry-after': '5' }) })
  const longer = await a.take('reddit', 'on_use')
  t.ok(!longer.ok && longer.retryAfterMs > 25_000)
})

t.test('Reddit\'s own headers: remaining 0.0 with a reset, a 429 with only the reset, a 429 with nothing', async (t) => {
  const table = await createTestTable(t)
  const clock = manualClock()
  const budget = budgetOn(table, { perMinute: 100 }, clock.now)
  const other = budgetOn(table, { perMinute: 100 }, clock.now)
  const pausedFor = async (platform: string): Promise<number> => {
    const d = await other.take(platform, 'on_use')
    return d.ok ? 0 : d.retryAfterMs
  }
  // The clock runs with wall time and DynamoDB Local may take seconds on a loaded machine: the pause
  // left is the announced one less what that took, never more.
  const about = (ms: number, expectedMs: number): boolean => ms <= expectedMs && ms > expectedMs - 5_000
  await budget.observe('p1', { status: 200, headers: new Headers({ 'x-ratelimit-remaining': '0.0', 'x-ratelimit-reset': '7', 'x-ratelimit-used': '100' }) })
  t.ok(about(await pausedFor('p1'), 7_000), 'a 200 with nothing left pauses until the reset')
  await budget.observe('p2', { status: 200, headers: new Headers({ 'x-ratelimit-remaining': '12.0', 'x-ratelimit-reset': '300' }) })
  t.equal(await pausedFor('p2'), 0, 'quota left: no pause')
  await budget.observe('p3', { status: 429, headers: new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '42' }) })
  t.ok(about(await pausedFor('p3'), 42_000), 'a 429 without Retry-After: the reset header')
  await budget.observe('p4', { status: 429, headers: new Headers() })
  t.ok(about(await pausedFor('p4'), 60_000), 'a 429 that says nothing: 60 s')
  await budget.observe('p5', { status: 200, headers: new Headers({ 'x-ratelimit-remaining': '0.0' }) })
  t.ok(about(await pausedFor('p5'), 60_000), 'nothing left and no reset: 60 s')
})

t.test('two instances whose clocks are 2 s apart keep the cap in every 60 s of real time', async (t) => {
  const table = await createTestTable(t)
  const base = manualClock()
  const cap = 20
  const ahead = budgetOn(table, { perMinute: cap }, () => base.now() + 2_000)
  const behind = budgetOn(table, { perMinute: cap }, () => base.now() - 0)
  const granted: number[] = []
  // Three minutes of demand well above the cap from both, in 500 ms steps of virtual time.
  for (let step = 0; step < 360; step++) {
    const decisions = await Promise.all([ahead, behind, ahead, behind].map(async (b) => await b.take('reddit', step % 3 === 0 ? 'cron' : 'on_use')))
    for (const d of decisions) if (d.ok) granted.push(base.now())
    base.advance(500)
  }
  const peak = peakPerMinute(granted)
  t.ok(peak <= cap, `most calls in any 60 s: ${peak} (cap ${cap})`)
  t.ok(granted.length >= 2.4 * cap, `the cap is used, not starved: ${granted.length} calls in 3 min`)
})

t.test('a call costs at most 2 capacity units (measured on DynamoDB Local)', async (t) => {
  const table = await createTestTable(t)
  let units = 0
  const budget = budgetOn(table, { perMinute: 1_000 }, Date.now, patient.doc, (u) => { units += u })
  let granted = 0
  for (let i = 0; i < 40; i++) if ((await budget.take('reddit', i % 2 === 0 ? 'cron' : 'on_use')).ok) granted++
  t.equal(granted, 40)
  t.ok(units / granted <= 2, `${units / granted} units per call`)
  t.ok(units / granted >= 1, 'a write unit at least (a conditional UpdateItem)')
})

t.test('DynamoDB down while the budget is consulted: no provider call, a clear refusal', async (t) => {
  const table = await createTestTable(t)
  const proxy = await cuttableProxy(t, dynamoEndpoint())
  const dynamo: DynamoClients = createDynamoClients({ region: 'us-east-1', endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 500, connectionTimeoutMs: 300 })
  t.teardown(() => { dynamo.client.destroy() })
  const budget = budgetOn(table, { perMinute: 100 }, Date.now, dynamo.doc)
  let calls = 0
  const provider = createServer((_req, res) => { calls++; res.end('{}') })
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { provider.close() })
  const http = { ...createProviderHttp({ timeoutMs: 2_000 }), gate: createProviderGate(budget, 'reddit', { onUseWaitMs: 0, log: captureLogger() }) }
  const url = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/x`
  t.equal((await providerRequest(http, url)).status, 200, 'the store answers: the call goes')
  proxy.cut()
  await t.rejects(budget.take('reddit', 'on_use'), StoreUnavailableError)
  const refusal = await providerRequest(http, url).then(() => undefined, (err: unknown) => err)
  t.ok(refusal instanceof ProviderRefusedError && refusal.reason === 'budget_unavailable', 'the funnel refuses with a clear reason')
  t.equal(calls, 1, 'no call left while the budget could not be asked')
})
