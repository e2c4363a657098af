// How a connection event waiting for delivery is laid out in the tokens table, and its mapping.
// Pending events live under one partition key (`webhook#pending`), given up ones under `webhook#failed`:
// only a Query of that partition reads them; the table is never read whole. Neither carries `expiresAt`, so no event ever
// enters the byExpiry index a refresher reads, and `#` keeps their keys apart from users' (isUserKey).
import { randomBytes } from 'node:crypto'
import type { Account, TokenKey } from './token-item.js'

export const CONNECTION_EVENTS = {
  needsReauth: 'connection.needs_reauth',
  recovered: 'connection.recovered',
  disconnected: 'connection.disconnected',
  refreshFailing: 'connection.refresh_failing'
} as const
export type ConnectionEventType = typeof CONNECTION_EVENTS[keyof typeof CONNECTION_EVENTS]

export const EVENT_PARTITIONS = {
  pending: 'webhook#pending',
  failed: 'webhook#failed'
} as const
export type EventPartition = keyof typeof EVENT_PARTITIONS

/** What happened to a connection; never a token, a code or a provider body. */
export interface ConnectionEvent extends TokenKey {
  /** The webhook-id: unique per event, the same on every delivery attempt. */
  readonly id: string
  readonly type: ConnectionEventType
  readonly occurredAtMs: number
  readonly account: Account
  /** Our error code (`invalid_grant`, `timeout`…) for needs_reauth and refresh_failing. */
  readonly reason?: string | undefined
}

export interface StoredEvent extends ConnectionEvent {
  readonly partition: EventPartition
  readonly attempts: number
  /** When the next attempt is due (pending); a claimed event is due again when its lease ends. */
  readonly nextAttemptAtMs: number
  readonly leaseId?: string | undefined
  /** `http_500`, `timeout`, `redirect_302`…: a code, never the receiver's body. */
  readonly lastError?: string | undefined
  readonly failedAtMs?: number | undefined
}

export const EVENT_ATTR = {
  userId: 'userId',
  platform: 'platform',
  eventId: 'eventId',
  eventType: 'eventType',
  subjectUserId: 'subjectUserId',
  subjectPlatform: 'subjectPlatform',
  accountId: 'accountId',
  username: 'username',
  reason: 'reason',
  occurredAtMs: 'occurredAtMs',
  attempts: 'attempts',
  nextAttemptAtMs: 'nextAttemptAtMs',
  leaseId: 'leaseId',
  lastError: 'lastError',
  failedAtMs: 'failedAtMs',
  ttl: 'ttl'
} as const

/** `msg_` + the time in base 36 + randomness: unique, and a partition's Query returns oldest first. */
export function newEventId (nowMs: number): string {
  return `msg_${nowMs.toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`
}

/** The item's key: the partition of its state, the event id as sort key. */
export function eventKey (partition: EventPartition, id: string): Record<string, string> {
  return { [EVENT_ATTR.userId]: EVENT_PARTITIONS[partition], [EVENT_ATTR.platform]: `event#${id}` }
}

/** A new event, due at once. */
export function pendingEventItem (event: ConnectionEvent): Record<string, unknown> {
  const item: Record<string, unknown> = {
    ...eventKey('pending', event.id),
    [EVENT_ATTR.eventId]: event.id,
    [EVENT_ATTR.eventType]: event.type,
    [EVENT_ATTR.subjectUserId]: event.userId,
    [EVENT_ATTR.subjectPlatform]: event.platform,
    [EVENT_ATTR.accountId]: event.account.id,
    [EVENT_ATTR.occurredAtMs]: event.occurredAtMs,
    [EVENT_ATTR.attempts]: 0,
    [EVENT_ATTR.nextAttemptAtMs]: event.occurredAtMs
  }
  if (event.account.username !== undefined) item[EVENT_ATTR.username] = event.account.username
  if (event.reason !== undefined) item[EVENT_ATTR.reason] = event.reason
  return item
}

export function eventFromItem (item: Record<string, unknown>): StoredEvent {
  const str = (name: string): string | undefined => typeof item[name] === 'string' ? item[name] : undefined
  const num = (name: string): number | undefined => typeof item[name] === 'number' ? item[name] : undefined
  const username = str(EVENT_ATTR.username)
  return {
    partition: item[EVENT_ATTR.userId] === EVENT_PARTITIONS.failed ? 'failed' : 'pending',
    id: str(EVENT_ATTR.eventId) ?? '',
    type: (str(EVENT_ATTR.eventType) ?? CONNECTION_EVENTS.needsReauth) as ConnectionEventType,
    userId: str(EVENT_ATTR.subjectUserId) ?? '',
    platform: str(EVENT_ATTR.subjectPlatform) ?? '',
    account: username === undefined ? { id: str(EVENT_ATTR.accountId) ?? '' } : { id: str(EVENT_ATTR.accountId) ?? '', username },
    reason: str(EVENT_ATTR.reason),
    occurredAtMs: num(EVENT_ATTR.occurredAtMs) ?? 0,
    attempts: num(EVENT_ATTR.attempts) ?? 0,
    nextAttemptAtMs: num(EVENT_ATTR.nextAttemptAtMs) ?? 0,
    leaseId: str(EVENT_ATTR.leaseId),
    lastError: str(EVENT_ATTR.lastError),
    failedAtMs: num(EVENT_ATTR.failedAtMs)
  }
}
