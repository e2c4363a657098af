// The token commands' parameters as data: conditions, names through ExpressionAttributeNames, and
// the index the refresh query reads. Their behaviour on a table is in token-store.test.ts.
import t, { type Test } from 'tap'
import {
  BATCH_GET_MAX_KEYS, batchGetTokensParams, claimedUpdateParams, claimParams, deleteConnectionParams, forceSlotParams, getTokenParams, listByUserParams,
  putConnectionParams, queryDueParams, releaseClaimParams
} from '../../src/store/token-params.js'

const TABLE = 'tokens'
const KEY = { userId: 'u1', platform: 'reddit' }

/** Every `#name` used in an expression is declared, and every declared name is used. */
function namesMatch (t: Test, params: { ExpressionAttributeNames?: Record<string, string> | undefined }, ...expressions: Array<string | undefined>): void {
  const used = new Set(expressions.join(' ').match(/#\w+/g) ?? [])
  t.same([...used].sort(), Object.keys(params.ExpressionAttributeNames ?? {}).sort(), 'names declared = names used')
  for (const [placeholder, name] of Object.entries(params.ExpressionAttributeNames ?? {})) t.equal(placeholder, `#${name}`)
}

function valuesMatch (t: Test, params: { ExpressionAttributeValues?: Record<string, unknown> | undefined }, ...expressions: Array<string | undefined>): void {
  const used = new Set(expressions.join(' ').match(/:\w+/g) ?? [])
  t.same([...used].sort(), Object.keys(params.ExpressionAttributeValues ?? {}).sort(), 'values declared = values used')
}

t.test('get and list read consistently', async (t) => {
  t.same(getTokenParams(TABLE, KEY, true), { TableName: TABLE, Key: KEY, ConsistentRead: true })
  t.equal(getTokenParams(TABLE, KEY, false).ConsistentRead, false)
  const list = listByUserParams(TABLE, 'u1')
  t.match(list, { TableName: TABLE, KeyConditionExpression: '#userId = :userId', ExpressionAttributeValues: { ':userId': 'u1' }, ConsistentRead: true })
  t.notOk('ExclusiveStartKey' in list, 'queryPages adds the start key of each next page')
  namesMatch(t, list, list.KeyConditionExpression)
})

t.test('batchGet: consistent reads, 1 to 100 keys a call', async (t) => {
  t.same(batchGetTokensParams(TABLE, [KEY]), { RequestItems: { [TABLE]: { Keys: [KEY], ConsistentRead: true } } })
  t.equal(batchGetTokensParams(TABLE, Array.from({ length: BATCH_GET_MAX_KEYS }, () => KEY)).RequestItems?.[TABLE]?.Keys?.length, 100)
  t.throws(() => batchGetTokensParams(TABLE, []), RangeError)
  t.throws(() => batchGetTokensParams(TABLE, Array.from({ length: BATCH_GET_MAX_KEYS + 1 }, () => KEY)), RangeError)
})

t.test('queryDue is a paginated Query on byExpiry, never a Scan', async (t) => {
  const params = queryDueParams(TABLE, 'reddit', 1_000, 25)
  t.match(params, {
    TableName: TABLE,
    IndexName: 'byExpiry',
    KeyConditionExpression: '#platform = :platform AND #expiresAt <= :untilMs',
    ExpressionAttributeValues: { ':platform': 'reddit', ':untilMs': 1_000 },
    Limit: 25
  })
  t.notOk('ExclusiveStartKey' in params, 'queryPages adds the start key of each next page')
  t.notOk('ConsistentRead' in params, 'a GSI cannot be read consistently')
  namesMatch(t, params, params.KeyConditionExpression)
  valuesMatch(t, params, params.KeyConditionExpression)
  t.notOk('ScanIndexForward' in params, 'earliest first by default')
})

t.test('queryDue over a bounded range, latest first: BETWEEN an exclusive lower bound and the end', async (t) => {
  const params = queryDueParams(TABLE, 'tiktok', 9_000, 25, { afterMs: 1_000, descending: true })
  t.match(params, {
    KeyConditionExpression: '#platform = :platform AND #expiresAt BETWEEN :fromMs AND :untilMs',
    ExpressionAttributeValues: { ':platform': 'tiktok', ':fromMs': 1_001, ':untilMs': 9_000 },
    ScanIndexForward: false
  })
  namesMatch(t, params, params.KeyConditionExpression)
  valuesMatch(t, params, params.KeyConditionExpression)
})

t.test('putConnection: a first connection needs an absent item, a reconnection the version it read', async (t) => {
  const item = { ...KEY, version: 1 }
  const first = putConnectionParams(TABLE, item, undefined)
  t.same(first, { TableName: TABLE, Item: item, ConditionExpression: 'attribute_not_exists(#userId)', ExpressionAttributeNames: { '#userId': 'userId' } })
  const again = putConnectionParams(TABLE, { ...item, version: 4 }, 3)
  t.match(again, { ConditionExpression: '#version = :readVersion', ExpressionAttributeValues: { ':readVersion': 3 } })
  namesMatch(t, again, again.ConditionExpression)
})

t.test('claim: the version read, a connected token, and no live claim; the holder comes back on failure', async (t) => {
  const params = claimParams(TABLE, KEY, 3, 'claim-1', 61_000, 1_000)
  t.equal(params.UpdateExpression, 'SET #claimId = :claimId, #claimUntilMs = :claimUntilMs')
  t.equal(params.ConditionExpression, '#version = :readVersion AND #status = :connected AND (attribute_not_exists(#claimUntilMs) OR #claimUntilMs < :nowMs)')
  t.same(params.ExpressionAttributeValues, { ':claimId': 'claim-1', ':claimUntilMs': 61_000, ':readVersion': 3, ':nowMs': 1_000, ':connected': 'connected' })
  t.equal(params.ReturnValuesOnConditionCheckFailure, 'ALL_OLD')
  t.same(params.Key, KEY)
  namesMatch(t, params, params.UpdateExpression, params.ConditionExpression)
  valuesMatch(t, params, params.UpdateExpression, params.ConditionExpression)
})

t.test('claimedUpdate: my claim and my version; sets, removes, bumps the version and drops the claim', async (t) => {
  const params = claimedUpdateParams(TABLE, KEY, { claimId: 'c1', readVersion: 7, nowMs: 42 }, { accessTokenEnc: 'v1.x', attempts: 0 }, ['lastError', 'claimId'])
  t.equal(params.ConditionExpression, '#claimId = :claimId AND #version = :readVersion')
  t.equal(params.UpdateExpression,
    'SET #accessTokenEnc = :accessTokenEnc, #attempts = :attempts, #version = #version + :one, #lastClaimId = :claimId, #updatedAtMs = :nowMs REMOVE #lastError, #claimId, #claimUntilMs')
  t.same(params.ExpressionAttributeValues, { ':accessTokenEnc': 'v1.x', ':attempts': 0, ':one': 1, ':claimId': 'c1', ':readVersion': 7, ':nowMs': 42 })
  t.equal(params.ReturnValues, 'ALL_NEW')
  t.equal(params.ReturnValuesOnConditionCheckFailure, 'ALL_OLD')
  namesMatch(t, params, params.UpdateExpression, params.ConditionExpression)
  valuesMatch(t, params, params.UpdateExpression, params.ConditionExpression)
  // An attribute both set and removed would be a DynamoDB validation error: set wins.
  const both = claimedUpdateParams(TABLE, KEY, { claimId: 'c1', readVersion: 7, nowMs: 42 }, { ttl: 9 }, ['ttl'])
  t.equal(both.UpdateExpression, 'SET #ttl = :ttl, #version = #version + :one, #lastClaimId = :claimId, #updatedAtMs = :nowMs REMOVE #claimId, #claimUntilMs')
})

t.test('releaseClaim only releases my claim; delete returns what was there', async (t) => {
  const release = releaseClaimParams(TABLE, KEY, 'c1')
  t.match(release, { UpdateExpression: 'REMOVE #claimId, #claimUntilMs', ConditionExpression: '#claimId = :claimId', ExpressionAttributeValues: { ':claimId': 'c1' } })
  namesMatch(t, release, release.UpdateExpression, release.ConditionExpression)
  t.same(deleteConnectionParams(TABLE, KEY), { TableName: TABLE, Key: KEY, ReturnValues: 'ALL_OLD' })
})

t.test('the forced-refresh slot: taken only when the last one is older than the cooldown, version untouched', async (t) => {
  const params = forceSlotParams(TABLE, KEY, 100_000, 30_000)
  t.match(params, {
    TableName: TABLE,
    Key: KEY,
    UpdateExpression: 'SET #lastForcedAtMs = :nowMs',
    ConditionExpression: 'attribute_exists(#userId) AND (attribute_not_exists(#lastForcedAtMs) OR #lastForcedAtMs <= :sinceMs)',
    ExpressionAttributeValues: { ':nowMs': 100_000, ':sinceMs': 70_000 }
  })
  t.notMatch(params.UpdateExpression, /version/, 'bookkeeping: claims on the version stay valid')
  namesMatch(t, params, params.UpdateExpression, params.ConditionExpression)
  valuesMatch(t, params, params.UpdateExpression, params.ConditionExpression)
})
