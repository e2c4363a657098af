// Parameters of the pass-in-parts leases (REFRESH_PARTS > 1), built as data, sent by part-leases.ts.
// Each part of a pass is one item beside the cron lock (`cron` / `refresh-oauth#part#<i>`): it has
// no `expiresAt`, so it never enters the byExpiry index, and its `platform` is no platform's name.
import type { PutCommandInput, QueryCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb'
import { attributeNames as names } from './dynamodb-calls.js'
import { LOCK_KEY } from './lock-params.js'

const PART_PREFIX = `${LOCK_KEY.platform}#part#`

export function partKey (index: number): { readonly userId: string, readonly platform: string } {
  return { userId: LOCK_KEY.userId, platform: `${PART_PREFIX}${index}` }
}

export const PART_STATES = { open: 'open', taken: 'taken', done: 'done' } as const
export type PartState = typeof PART_STATES[keyof typeof PART_STATES]

export const PART_ATTR = {
  passId: 'passId',
  index: 'partIndex',
  count: 'partCount',
  state: 'partState',
  holder: 'holder',
  leaseUntilMs: 'leaseUntilMs',
  deadlineAtMs: 'deadlineAtMs',
  takenCount: 'takenCount',
  summary: 'summary',
  ttl: 'ttl'
} as const

/** A part item outlives its pass by a day (the summary is on the lock item by then). */
const TTL_SEC = 24 * 3600

/** A new pass's part, open to any instance until `deadlineAtMs` (the pass's run budget). Replaces the last pass's. */
export function openPartParams (table: string, passId: string, index: number, count: number, deadlineAtMs: number): PutCommandInput {
  return {
    TableName: table,
    Item: {
      ...partKey(index),
      [PART_ATTR.passId]: passId,
      [PART_ATTR.index]: index,
      [PART_ATTR.count]: count,
      [PART_ATTR.state]: PART_STATES.open,
      [PART_ATTR.leaseUntilMs]: 0,
      [PART_ATTR.deadlineAtMs]: deadlineAtMs,
      [PART_ATTR.takenCount]: 0,
      [PART_ATTR.ttl]: Math.floor(deadlineAtMs / 1000) + TTL_SEC
    }
  }
}

// Instance A takes part 1 at t0 until t0+lease and renews it while it works.
// A dies at t1: its lease ends at t1+lease at the latest, and from then B may take the part again
// (the tokens A had claimed are claimable again by then too: the lease is as long as a claim).
// A part already done is never taken again; a part of an older pass is not this pass's.
const TAKEABLE = `#${PART_ATTR.passId} = :passId AND #${PART_ATTR.deadlineAtMs} > :nowMs AND (#${PART_ATTR.state} = :open OR (#${PART_ATTR.state} = :taken AND #${PART_ATTR.leaseUntilMs} < :nowMs))`
// Only the instance holding the part renews or completes it (a holder presumed dead that comes back
// finds its part taken by another and stops).
const HELD_BY_ME = `#${PART_ATTR.passId} = :passId AND #${PART_ATTR.state} = :taken AND #${PART_ATTR.holder} = :holder`

export function takePartParams (table: string, passId: string, index: number, holder: string, nowMs: number, leaseMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: partKey(index),
    UpdateExpression: `SET #${PART_ATTR.state} = :taken, #${PART_ATTR.holder} = :holder, #${PART_ATTR.leaseUntilMs} = :leaseUntilMs ADD #${PART_ATTR.takenCount} :one`,
    ConditionExpression: TAKEABLE,
    ExpressionAttributeNames: names(PART_ATTR.passId, PART_ATTR.deadlineAtMs, PART_ATTR.state, PART_ATTR.leaseUntilMs, PART_ATTR.holder, PART_ATTR.takenCount),
    ExpressionAttributeValues: { ':passId': passId, ':nowMs': nowMs, ':open': PART_STATES.open, ':taken': PART_STATES.taken, ':holder': holder, ':leaseUntilMs': nowMs + leaseMs, ':one': 1 }
  }
}

export function renewPartParams (table: string, passId: string, index: number, holder: string, leaseUntilMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: partKey(index),
    UpdateExpression: `SET #${PART_ATTR.leaseUntilMs} = :leaseUntilMs`,
    ConditionExpression: HELD_BY_ME,
    ExpressionAttributeNames: names(PART_ATTR.passId, PART_ATTR.state, PART_ATTR.holder, PART_ATTR.leaseUntilMs),
    ExpressionAttributeValues: { ':passId': passId, ':taken': PART_STATES.taken, ':holder': holder, ':leaseUntilMs': leaseUntilMs }
  }
}

export function completePartParams (table: string, passId: string, index: number, holder: string, summary: Record<string, unknown>): UpdateCommandInput {
  return {
    TableName: table,
    Key: partKey(index),
    UpdateExpression: `SET #${PART_ATTR.state} = :done, #${PART_ATTR.summary} = :summary REMOVE #${PART_ATTR.leaseUntilMs}`,
    ConditionExpression: HELD_BY_ME,
    ExpressionAttributeNames: names(PART_ATTR.passId, PART_ATTR.state, PART_ATTR.holder, PART_ATTR.summary, PART_ATTR.leaseUntilMs),
    ExpressionAttributeValues: { ':passId': passId, ':taken': PART_STATES.taken, ':done': PART_STATES.done, ':holder': holder, ':summary': summary }
  }
}

/** The parts of the latest pass: a Query of the lock's partition, never a read of the whole table. */
export function listPartsParams (table: string, consistent: boolean): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: '#userId = :userId AND begins_with(#platform, :prefix)',
    ExpressionAttributeNames: { '#userId': 'userId', '#platform': 'platform' },
    ExpressionAttributeValues: { ':userId': LOCK_KEY.userId, ':prefix': PART_PREFIX },
    ConsistentRead: consistent
  }
}
