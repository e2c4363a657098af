// Parameters of the cron lock's commands, built as data (testable without a table), sent by lock.ts.
// The lock is one item of the tokens table; its `platform` is never a platform a refresher queries.
import type { GetCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb'
import { attributeNames as names } from './dynamodb-calls.js'

export const LOCK_KEY = { userId: 'cron', platform: 'refresh-oauth' } as const

/** Attribute names of the lock item. `expiresAt` (ms) is the lease end, as the contract names it. */
export const LOCK_ATTR = {
  expiresAt: 'expiresAt',
  runId: 'runId',
  acquiredAtMs: 'acquiredAtMs',
  lastRun: 'lastRun',
  finishedAtMs: 'finishedAtMs'
} as const

// Run A takes the lock at t0 until t0+lease and releases it at t1 (attribute removed): free.
// Run A dies at t1 without releasing: from t0+lease on, run B may take it (A is presumed dead).
const LOCK_FREE = `(attribute_not_exists(#${LOCK_ATTR.expiresAt}) OR #${LOCK_ATTR.expiresAt} < :nowMs)`
// Run A's lease ran out and run B took the lock; A's late release must not free B's lock.
const HELD_BY_ME = `#${LOCK_ATTR.runId} = :runId`
// An operator's --force: only a lease that has already ended can be cleared without its holder.
const LEASE_ENDED = `#${LOCK_ATTR.expiresAt} < :nowMs`
// Runs that overlap (a lease that ran out) finish out of order: an older summary never replaces a newer one.
const SUMMARY_IS_NEWER = `(attribute_not_exists(#${LOCK_ATTR.lastRun}) OR #${LOCK_ATTR.lastRun}.#${LOCK_ATTR.finishedAtMs} < :finishedAtMs)`

export function getLockParams (table: string, consistent = true): GetCommandInput {
  return { TableName: table, Key: { ...LOCK_KEY }, ConsistentRead: consistent }
}

export function acquireLockParams (table: string, runId: string, nowMs: number, leaseMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: { ...LOCK_KEY },
    UpdateExpression: `SET #${LOCK_ATTR.expiresAt} = :leaseEndMs, #${LOCK_ATTR.runId} = :runId, #${LOCK_ATTR.acquiredAtMs} = :nowMs`,
    ConditionExpression: LOCK_FREE,
    ExpressionAttributeNames: names(LOCK_ATTR.expiresAt, LOCK_ATTR.runId, LOCK_ATTR.acquiredAtMs),
    ExpressionAttributeValues: { ':leaseEndMs': nowMs + leaseMs, ':runId': runId, ':nowMs': nowMs },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}

/** Frees the lock if `runId` still holds it, writing the run's summary in the same update when given. */
export function releaseLockParams (table: string, runId: string, summary?: Record<string, unknown>): UpdateCommandInput {
  const attrs: string[] = [LOCK_ATTR.expiresAt, LOCK_ATTR.runId, LOCK_ATTR.acquiredAtMs]
  const remove = `REMOVE #${LOCK_ATTR.expiresAt}, #${LOCK_ATTR.runId}, #${LOCK_ATTR.acquiredAtMs}`
  if (summary === undefined) {
    return {
      TableName: table,
      Key: { ...LOCK_KEY },
      UpdateExpression: remove,
      ConditionExpression: HELD_BY_ME,
      ExpressionAttributeNames: names(...attrs),
      ExpressionAttributeValues: { ':runId': runId },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
    }
  }
  return {
    TableName: table,
    Key: { ...LOCK_KEY },
    UpdateExpression: `SET #${LOCK_ATTR.lastRun} = :summary ${remove}`,
    ConditionExpression: HELD_BY_ME,
    ExpressionAttributeNames: names(...attrs, LOCK_ATTR.lastRun),
    ExpressionAttributeValues: { ':runId': runId, ':summary': summary },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}

/** An operator's release of a lease that has already ended (its holder is presumed dead). */
export function forceReleaseLockParams (table: string, nowMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: { ...LOCK_KEY },
    UpdateExpression: `REMOVE #${LOCK_ATTR.expiresAt}, #${LOCK_ATTR.runId}, #${LOCK_ATTR.acquiredAtMs}`,
    ConditionExpression: LEASE_ENDED,
    ExpressionAttributeNames: names(LOCK_ATTR.expiresAt, LOCK_ATTR.runId, LOCK_ATTR.acquiredAtMs),
    ExpressionAttributeValues: { ':nowMs': nowMs },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}

/** Records a run's summary without touching the holder (a run that lost its lease still reports). */
export function recordSummaryParams (table: string, summary: Record<string, unknown> & { finishedAtMs: number }): UpdateCommandInput {
  return {
    TableName: table,
    Key: { ...LOCK_KEY },
    UpdateExpression: `SET #${LOCK_ATTR.lastRun} = :summary`,
    ConditionExpression: SUMMARY_IS_NEWER,
    ExpressionAttributeNames: names(LOCK_ATTR.lastRun, LOCK_ATTR.finishedAtMs),
    ExpressionAttributeValues: { ':summary': summary, ':finishedAtMs': summary.finishedAtMs }
  }
}
