// The connection-event rules: which state change of a connection the platform hears about, in one
// place. The writers (claimed-writes.ts, connection-writes.ts) ask here and write the event in the
// same TransactWriteItems as the change (withEvent), for the webhook delivery worker to send.
import { randomUUID } from 'node:crypto'
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb'
import { putEventTransactItem } from './event-params.js'
import { CONNECTION_EVENTS, newEventId, pendingEventItem, type ConnectionEvent, type ConnectionEventType } from './event-item.js'
import { TOKEN_STATUS, type TokenRecord } from './token-item.js'
import { withEventParams, type StateChangeParams } from './token-params.js'

/** A state change the store is about to write, with the record as it was read before it. */
export type StateChange =
  /** A grant saved by the connect flow as `after`; `before` is the item it replaces, if any. */
  | { readonly kind: 'connected', readonly before: TokenRecord | undefined, readonly after: TokenRecord }
  /** A transient refresh failure recorded at `nowMs`. */
  | { readonly kind: 'refresh_failed', readonly before: TokenRecord, readonly nowMs: number }
  /** A permanent refresh failure: the user must connect again. */
  | { readonly kind: 'needs_reauth', readonly before: TokenRecord }
  /** The connection deleted. */
  | { readonly kind: 'disconnected', readonly before: TokenRecord }

/** The rules, every one of them: the event a state change sends, or undefined for none. */
export function eventTypeOf (change: StateChange): ConnectionEventType | undefined {
  switch (change.kind) {
    case 'connected':
      // A needs_reauth connection connected again: it recovered. A first connection or a reconnect of
      // a working one is no news.
      return change.before?.status === TOKEN_STATUS.needsReauth ? CONNECTION_EVENTS.recovered : undefined
    case 'refresh_failed': {
      // The access token has expired and refreshing keeps failing: once per failing streak (a refresh
      // clears refreshFailingAtMs). A failure before the expiry is no news: the token still works.
      const { expiresAtMs, refreshFailingAtMs } = change.before
      return expiresAtMs !== undefined && expiresAtMs <= change.nowMs && refreshFailingAtMs === undefined ? CONNECTION_EVENTS.refreshFailing : undefined
    }
    case 'needs_reauth':
      return CONNECTION_EVENTS.needsReauth
    case 'disconnected':
      return CONNECTION_EVENTS.disconnected
  }
}

export interface ConnectionEventRules {
  /** Webhooks are configured. Without them no rule fires, and a disconnect need not read the item first. */
  readonly enabled: boolean
  /** The event to write with `change`, or undefined (no rule fires, or webhooks are not configured). */
  eventFor (change: StateChange, reason?: string): ConnectionEvent | undefined
  /** `change` and its event as one TransactWriteItems: both land or neither does. */
  withEvent (change: StateChangeParams, event: ConnectionEvent): TransactWriteCommandInput
}

/** `enabled`: webhooks are configured; without them no event is ever written. */
export function createConnectionEventRules ({ table, enabled, now }: { readonly table: string, readonly enabled: boolean, readonly now: () => number }): ConnectionEventRules {
  return {
    enabled,
    eventFor (change, reason) {
      const type = enabled ? eventTypeOf(change) : undefined
      if (type === undefined) return undefined
      const nowMs = now()
      // The connection the event is about: as saved for a connect (its account may be new), as read otherwise.
      const { userId, platform, account } = change.kind === 'connected' ? change.after : change.before
      return { id: newEventId(nowMs), type, occurredAtMs: nowMs, userId, platform, account, ...(reason === undefined ? {} : { reason }) }
    },
    withEvent (change, event) {
      // A fresh ClientRequestToken per state change: the settle retry resends this very object.
      return withEventParams(change, putEventTransactItem(table, pendingEventItem(event)), randomUUID())
    }
  }
}
