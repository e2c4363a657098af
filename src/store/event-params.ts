// Parameters of the webhook outbox's commands, built as data and sent by webhook-outbox.ts and, for
// the event written with a state change, inside its TransactWriteItems (connection-events.ts).
import type { QueryCommandInput, TransactWriteCommandInput, UpdateCommandInput, DeleteCommandInput } from '@aws-sdk/lib-dynamodb'
import { attributeNames as names } from './dynamodb-calls.js'
import { EVENT_ATTR, EVENT_PARTITIONS, eventKey, pendingEventItem, type EventPartition, type StoredEvent } from './event-item.js'

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number]

// An event id is random: a second put of one would be a bug, never an overwrite.
const EVENT_ABSENT = `attribute_not_exists(#${EVENT_ATTR.userId})`
// Instance A reads the event due at t; B reads it too; A claims it (due again at t + lease); B's claim,
// conditioned on the due time it read, fails: one sender at a time.
const DUE_AS_READ = `#${EVENT_ATTR.nextAttemptAtMs} = :seenNextAttemptAtMs`
// Only the holder of the delivery lease settles the attempt it made.
const LEASE_IS_MINE = `#${EVENT_ATTR.leaseId} = :leaseId`

/** The Put of a new event, one item of the state change's TransactWriteItems. */
export function putEventTransactItem (table: string, item: Record<string, unknown>): TransactItem {
  return { Put: { TableName: table, Item: item, ConditionExpression: EVENT_ABSENT, ExpressionAttributeNames: names(EVENT_ATTR.userId) } }
}

/** One page of a partition, oldest event first (event ids sort by time); due ones only when `dueBeforeMs` is given. */
export function listEventsParams (table: string, partition: EventPartition, limit: number, dueBeforeMs?: number): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: `#${EVENT_ATTR.userId} = :partition`,
    ...(dueBeforeMs === undefined ? {} : { FilterExpression: `#${EVENT_ATTR.nextAttemptAtMs} <= :nowMs` }),
    ExpressionAttributeNames: names(EVENT_ATTR.userId, ...(dueBeforeMs === undefined ? [] : [EVENT_ATTR.nextAttemptAtMs])),
    ExpressionAttributeValues: { ':partition': EVENT_PARTITIONS[partition], ...(dueBeforeMs === undefined ? {} : { ':nowMs': dueBeforeMs }) },
    ConsistentRead: true,
    Limit: limit
  }
}

/** One page of the count of a partition's events (due or not): the backlog gauge. */
export function countEventsParams (table: string, partition: EventPartition): QueryCommandInput {
  return {
    TableName: table,
    KeyConditionExpression: `#${EVENT_ATTR.userId} = :partition`,
    ExpressionAttributeNames: names(EVENT_ATTR.userId),
    ExpressionAttributeValues: { ':partition': EVENT_PARTITIONS[partition] },
    Select: 'COUNT'
  }
}

/** Takes the delivery of a due event: it is due again only when the lease ends (a sender that died). */
export function claimEventParams (table: string, event: StoredEvent, leaseId: string, leaseUntilMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: eventKey('pending', event.id),
    UpdateExpression: `SET #${EVENT_ATTR.nextAttemptAtMs} = :leaseUntilMs, #${EVENT_ATTR.leaseId} = :leaseId, #${EVENT_ATTR.attempts} = #${EVENT_ATTR.attempts} + :one`,
    ConditionExpression: DUE_AS_READ,
    ExpressionAttributeNames: names(EVENT_ATTR.nextAttemptAtMs, EVENT_ATTR.leaseId, EVENT_ATTR.attempts),
    ExpressionAttributeValues: { ':leaseUntilMs': leaseUntilMs, ':leaseId': leaseId, ':one': 1, ':seenNextAttemptAtMs': event.nextAttemptAtMs },
    ReturnValues: 'ALL_NEW'
  }
}

/** Delivered (a 2xx): the event is done. */
export function deliveredEventParams (table: string, id: string, leaseId: string): DeleteCommandInput {
  return {
    TableName: table,
    Key: eventKey('pending', id),
    ConditionExpression: LEASE_IS_MINE,
    ExpressionAttributeNames: names(EVENT_ATTR.leaseId),
    ExpressionAttributeValues: { ':leaseId': leaseId }
  }
}

/** A failed attempt: due again at `nextAttemptAtMs`, with what went wrong as a code. */
export function retryEventParams (table: string, id: string, leaseId: string, nextAttemptAtMs: number, lastError: string): UpdateCommandInput {
  return {
    TableName: table,
    Key: eventKey('pending', id),
    UpdateExpression: `SET #${EVENT_ATTR.nextAttemptAtMs} = :nextAttemptAtMs, #${EVENT_ATTR.lastError} = :lastError REMOVE #${EVENT_ATTR.leaseId}`,
    ConditionExpression: LEASE_IS_MINE,
    ExpressionAttributeNames: names(EVENT_ATTR.nextAttemptAtMs, EVENT_ATTR.lastError, EVENT_ATTR.leaseId),
    ExpressionAttributeValues: { ':nextAttemptAtMs': nextAttemptAtMs, ':lastError': lastError, ':leaseId': leaseId }
  }
}

/** The schedule is spent: the event moves to the failed partition (kept, listable, purged by its TTL). */
export function giveUpEventParams (table: string, event: StoredEvent, leaseId: string, failedAtMs: number, lastError: string, ttlSec: number): TransactWriteCommandInput {
  const failed = {
    ...pendingEventItem(event),
    ...eventKey('failed', event.id),
    [EVENT_ATTR.attempts]: event.attempts,
    [EVENT_ATTR.nextAttemptAtMs]: failedAtMs,
    [EVENT_ATTR.failedAtMs]: failedAtMs,
    [EVENT_ATTR.lastError]: lastError,
    [EVENT_ATTR.ttl]: ttlSec
  }
  return {
    TransactItems: [
      { Delete: { TableName: table, Key: eventKey('pending', event.id), ConditionExpression: LEASE_IS_MINE, ExpressionAttributeNames: names(EVENT_ATTR.leaseId), ExpressionAttributeValues: { ':leaseId': leaseId } } },
      putEventTransactItem(table, failed)
    ]
  }
}
