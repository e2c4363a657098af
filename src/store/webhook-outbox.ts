// The webhook outbox: connection events written with their state change (connection-events.ts), read back
// here by a Query of their partition, claimed under a lease by one sender at a time, then deleted
// once delivered or moved to the failed partition once the retry schedule is spent.
import { DeleteCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionalWrite, queryPages } from './dynamodb-calls.js'
import { eventFromItem, type EventPartition, type StoredEvent } from './event-item.js'
import { claimEventParams, countEventsParams, deliveredEventParams, giveUpEventParams, listEventsParams, retryEventParams } from './event-params.js'

export interface WebhookOutboxOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly now?: () => number
}

export interface WebhookOutbox {
  /** Events whose next attempt is due, oldest first, at most `limit`. */
  listDue (limit: number): Promise<StoredEvent[]>
  /**
   * How many events the partition holds, counted up to `cap` (the count reads every item it counts:
   * a cap keeps one gauge reading cheap when a receiver has been down for days).
   */
  count (partition: EventPartition, cap: number): Promise<number>
  /** Every event of a partition (the ops CLI), oldest first. */
  list (partition: EventPartition, limit?: number): Promise<StoredEvent[]>
  /** The event as claimed, or undefined when another sender took it (or it is gone). */
  claim (event: StoredEvent, leaseId: string, leaseMs: number): Promise<StoredEvent | undefined>
  delivered (event: StoredEvent, leaseId: string): Promise<boolean>
  retryLater (event: StoredEvent, leaseId: string, nextAttemptAtMs: number, lastError: string): Promise<boolean>
  giveUp (event: StoredEvent, leaseId: string, lastError: string, retentionDays: number): Promise<boolean>
}

export function createWebhookOutbox ({ doc, table, now = Date.now }: WebhookOutboxOptions): WebhookOutbox {
  async function query (partition: EventPartition, limit: number, dueBeforeMs?: number): Promise<StoredEvent[]> {
    const events: StoredEvent[] = []
    for await (const page of queryPages(doc, listEventsParams(table, partition, 100, dueBeforeMs))) {
      for (const item of page.Items ?? []) events.push(eventFromItem(item))
      if (events.length >= limit) break
    }
    return events.slice(0, limit)
  }

  // A conditional write that lost (another sender, a lease that ran out) is an answer, not a failure.

  return {
    listDue: async (limit) => await query('pending', limit, now()),
    list: async (partition, limit = 1_000) => await query(partition, limit),
    async count (partition, cap) {
      let total = 0
      for await (const page of queryPages(doc, countEventsParams(table, partition))) {
        total += page.Count ?? 0
        if (total >= cap) break
      }
      return Math.min(total, cap)
    },

    async claim (event, leaseId, leaseMs) {
      const sent = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(claimEventParams(table, event, leaseId, now() + leaseMs))))
      return sent.applied && sent.output.Attributes !== undefined ? eventFromItem(sent.output.Attributes) : undefined
    },

    delivered: async (event, leaseId) =>
      (await conditionalWrite('DeleteItem', () => doc.send(new DeleteCommand(deliveredEventParams(table, event.id, leaseId))))).applied,

    retryLater: async (event, leaseId, nextAttemptAtMs, lastError) =>
      (await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(retryEventParams(table, event.id, leaseId, nextAttemptAtMs, lastError))))).applied,

    async giveUp (event, leaseId, lastError, retentionDays) {
      const nowMs = now()
      const params = giveUpEventParams(table, event, leaseId, nowMs, lastError, Math.floor(nowMs / 1000) + retentionDays * 86_400)
      return (await conditionalWrite('TransactWriteItems', () => doc.send(new TransactWriteCommand(params)))).applied
    }
  }
}
