// Parameters of every token command, built as data (testable without a table) and sent by token-reads.ts,
// claimed-writes.ts and connection-writes.ts.
// Conditions are named fragments; the timelines they guard are drawn above each one.
import type { BatchGetCommandInput, DeleteCommandInput, GetCommandInput, PutCommandInput, QueryCommandInput, TransactWriteCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb'
import { attributeNames as names } from './dynamodb-calls.js'
import { BY_EXPIRY_INDEX } from './table.js'
import { ATTR, TOKEN_STATUS, type TokenKey } from './token-item.js'

const key = (k: TokenKey): Record<string, string> => ({ [ATTR.userId]: k.userId, [ATTR.platform]: k.platform })

// Writer A reads version 3, writer B reads version 3; A writes 4; B's write must not land on 4.
const VERSION_UNCHANGED = `#${ATTR.version} = :readVersion`
// A first connection: nothing there yet.
const ITEM_ABSENT = `attribute_not_exists(#${ATTR.userId})`
// Claim taken at t0 until t0+lease by run A; run B at t1 > t0+lease may take it (A is presumed dead).
const NO_LIVE_CLAIM = `(attribute_not_exists(#${ATTR.claimUntilMs}) OR #${ATTR.claimUntilMs} < :nowMs)`
// Only the claimer that read `readVersion` may write the provider's answer.
const CLAIM_IS_MINE = `#${ATTR.claimId} = :claimId`

export function getTokenParams (table: string, k: TokenKey, consistent: boolean): GetCommandInput {
  return { TableName: table, Key: key(k), ConsistentRead: consistent }
}

/** DynamoDB's cap on the keys of one BatchGetItem call. */
export const BATCH_GET_MAX_KEYS = 100

/** Several tokens of one table in one round trip, each read as consistently as getTokenParams(…, true). */
export function batchGetTokensParams (table: string, keys: readonly TokenKey[]): BatchGetCommandInput {
  if (keys.length === 0 || keys.length > BATCH_GET_MAX_KEYS) throw new RangeError(`BatchGetItem takes 1 to ${BATCH_GET_MAX_KEYS} keys, not ${keys.length}`)
  return { RequestItems: { [table]: { Keys: keys.map(key), ConsistentRead: true } } }
}

/** A user's connections (the first page; queryPages asks for the next ones). */
export function listByUserParams (table: string, userId: string): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: `#${ATTR.userId} = :userId`,
    ExpressionAttributeNames: names(ATTR.userId),
    ExpressionAttributeValues: { ':userId': userId },
    ConsistentRead: true
  }
}

/** Where a query of due keys starts and which way it walks the index. */
export interface DueRange {
  /** Exclusive lower bound (epoch ms); unset = from the earliest due time. */
  readonly afterMs?: number | undefined
  /** Latest due times first (the index walked backwards). */
  readonly descending?: boolean | undefined
}

/**
 * One page of due keys of one platform: `platform = :p AND expiresAt <= :t` on the sparse index, or
 * `BETWEEN` an exclusive lower bound and `:t`, walked either way (queryPages asks for the next pages).
 */
export function queryDueParams (table: string, platform: string, untilMs: number, pageSize: number, range: DueRange = {}): QueryCommandInput {
  const bounded = range.afterMs !== undefined
  return {
    TableName: table,
    IndexName: BY_EXPIRY_INDEX,
    KeyConditionExpression: bounded
      ? `#${ATTR.platform} = :platform AND #${ATTR.dueAt} BETWEEN :fromMs AND :untilMs`
      : `#${ATTR.platform} = :platform AND #${ATTR.dueAt} <= :untilMs`,
    ExpressionAttributeNames: names(ATTR.platform, ATTR.dueAt),
    ExpressionAttributeValues: { ':platform': platform, ':untilMs': untilMs, ...(bounded ? { ':fromMs': (range.afterMs ?? 0) + 1 } : {}) },
    Limit: pageSize,
    ...(range.descending === true ? { ScanIndexForward: false } : {})
  }
}

/** A (re)connection replaces the item whole: new grant, version + 1, no claim, no failure history. */
export function putConnectionParams (table: string, item: Record<string, unknown>, readVersion: number | undefined): PutCommandInput {
  return {
    TableName: table,
    Item: item,
    ConditionExpression: readVersion === undefined ? ITEM_ABSENT : VERSION_UNCHANGED,
    ExpressionAttributeNames: readVersion === undefined ? names(ATTR.userId) : names(ATTR.version),
    ...(readVersion === undefined ? {} : { ExpressionAttributeValues: { ':readVersion': readVersion } })
  }
}

export function claimParams (table: string, k: TokenKey, readVersion: number, claimId: string, claimUntilMs: number, nowMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: key(k),
    UpdateExpression: `SET #${ATTR.claimId} = :claimId, #${ATTR.claimUntilMs} = :claimUntilMs`,
    ConditionExpression: `${VERSION_UNCHANGED} AND #${ATTR.status} = :connected AND ${NO_LIVE_CLAIM}`,
    ExpressionAttributeNames: names(ATTR.claimId, ATTR.claimUntilMs, ATTR.version, ATTR.status),
    ExpressionAttributeValues: { ':claimId': claimId, ':claimUntilMs': claimUntilMs, ':readVersion': readVersion, ':nowMs': nowMs, ':connected': TOKEN_STATUS.connected },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}

export interface ClaimedWrite {
  readonly claimId: string
  readonly readVersion: number
  readonly nowMs: number
}

/**
 * The claimer's write: `set` and `remove` change the item, the claim is dropped, the version moves
 * on, and `lastClaimId` records who wrote so a write whose answer was lost can be settled by a read.
 */
export function claimedUpdateParams (table: string, k: TokenKey, write: ClaimedWrite, set: Record<string, unknown>, remove: readonly string[]): UpdateCommandInput {
  const setNames = Object.keys(set)
  const removeNames = [...new Set([...remove, ATTR.claimId, ATTR.claimUntilMs])].filter((n) => !setNames.includes(n))
  const setClauses = setNames.map((n) => `#${n} = :${n}`)
  setClauses.push(`#${ATTR.version} = #${ATTR.version} + :one`, `#${ATTR.lastClaimId} = :claimId`, `#${ATTR.updatedAtMs} = :nowMs`)
  return {
    TableName: table,
    Key: key(k),
    UpdateExpression: `SET ${setClauses.join(', ')} REMOVE ${removeNames.map((n) => `#${n}`).join(', ')}`,
    ConditionExpression: `${CLAIM_IS_MINE} AND ${VERSION_UNCHANGED}`,
    ExpressionAttributeNames: names(...setNames, ...removeNames, ATTR.version, ATTR.lastClaimId, ATTR.updatedAtMs, ATTR.claimId),
    ExpressionAttributeValues: {
      ...Object.fromEntries(setNames.map((n) => [`:${n}`, set[n]])),
      ':one': 1,
      ':claimId': write.claimId,
      ':readVersion': write.readVersion,
      ':nowMs': write.nowMs
    },
    ReturnValues: 'ALL_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}

/**
 * The internal route's forced refresh, at most one per token per cooldown, whichever instance asks:
 * caller A forces at t0 (lastForcedAtMs = t0); caller B at t1 < t0 + cooldown finds it too recent.
 * The version does not move: this is bookkeeping, not a new grant, and claims stay valid.
 */
export function forceSlotParams (table: string, k: TokenKey, nowMs: number, cooldownMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: key(k),
    UpdateExpression: `SET #${ATTR.lastForcedAtMs} = :nowMs`,
    ConditionExpression: `attribute_exists(#${ATTR.userId}) AND (attribute_not_exists(#${ATTR.lastForcedAtMs}) OR #${ATTR.lastForcedAtMs} <= :sinceMs)`,
    ExpressionAttributeNames: names(ATTR.lastForcedAtMs, ATTR.userId),
    ExpressionAttributeValues: { ':nowMs': nowMs, ':sinceMs': nowMs - cooldownMs }
  }
}

/**
 * Moves the index entry (on_demand): only on the version read, while connected and unclaimed; a
 * claimer in flight writes its own value. The access expiry is kept beside it.
 */
export function moveDueAtParams (table: string, k: TokenKey, readVersion: number, accessExpiresAtMs: number, dueAtMs: number, nowMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: key(k),
    UpdateExpression: `SET #${ATTR.dueAt} = :dueAtMs, #${ATTR.accessExpiresAtMs} = :accessExpiresAtMs`,
    ConditionExpression: `${VERSION_UNCHANGED} AND #${ATTR.status} = :connected AND ${NO_LIVE_CLAIM}`,
    ExpressionAttributeNames: names(ATTR.dueAt, ATTR.accessExpiresAtMs, ATTR.version, ATTR.status, ATTR.claimUntilMs),
    ExpressionAttributeValues: { ':dueAtMs': dueAtMs, ':accessExpiresAtMs': accessExpiresAtMs, ':readVersion': readVersion, ':connected': TOKEN_STATUS.connected, ':nowMs': nowMs }
  }
}

/**
 * Gives a claim back without writing a grant, the version unchanged: the claimer found that another
 * writer had replaced the refresh token it sent, so the provider's refusal is no news about this item.
 */
export function releaseClaimParams (table: string, k: TokenKey, claimId: string): UpdateCommandInput {
  return {
    TableName: table,
    Key: key(k),
    UpdateExpression: `REMOVE #${ATTR.claimId}, #${ATTR.claimUntilMs}`,
    ConditionExpression: CLAIM_IS_MINE,
    ExpressionAttributeNames: names(ATTR.claimId, ATTR.claimUntilMs),
    ExpressionAttributeValues: { ':claimId': claimId }
  }
}

export function deleteConnectionParams (table: string, k: TokenKey): DeleteCommandInput {
  return { TableName: table, Key: key(k), ReturnValues: 'ALL_OLD' }
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number]

/** A state change that can carry a connection event (withEventParams): an update, a put or a delete. */
export type StateChangeParams = UpdateCommandInput | PutCommandInput | DeleteCommandInput

/**
 * A state change and its connection event in one TransactWriteItems: both land or neither does.
 * The same ClientRequestToken on a retry makes DynamoDB answer a transaction that already landed
 * as a success instead of applying it twice (idempotent for 10 minutes).
 */
export function withEventParams (change: StateChangeParams, event: TransactItem, requestToken: string): TransactWriteCommandInput {
  const { ReturnValues: _returnValues, ...rest } = change as UpdateCommandInput
  const first: TransactItem = 'UpdateExpression' in rest
    ? { Update: rest as NonNullable<TransactItem['Update']> }
    : 'Item' in rest ? { Put: rest as unknown as NonNullable<TransactItem['Put']> } : { Delete: rest as NonNullable<TransactItem['Delete']> }
  return { TransactItems: [first, event], ClientRequestToken: requestToken }
}

/** A disconnect with its event: the item read (`readVersion`) is the one deleted. */
export function deleteReadConnectionParams (table: string, k: TokenKey, readVersion: number): DeleteCommandInput {
  return {
    TableName: table,
    Key: key(k),
    ConditionExpression: VERSION_UNCHANGED,
    ExpressionAttributeNames: names(ATTR.version),
    ExpressionAttributeValues: { ':readVersion': readVersion },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}
