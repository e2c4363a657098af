// The body of a connection event, in the Standard Webhooks envelope `{ type, timestamp, data }`.
// Built from the stored event's fields alone: there is nothing else it could leak (no token, no code,
// no provider body), and every retry sends the same bytes.
import type { ConnectionEvent } from '../store/event-item.js'

export interface WebhookPayload {
  readonly type: string
  readonly timestamp: string
  readonly data: {
    readonly userId: string
    readonly platform: string
    readonly account: { readonly id: string, readonly username?: string }
    readonly reason?: string
  }
}

function webhookPayload (event: ConnectionEvent): WebhookPayload {
  const account = event.account.username === undefined ? { id: event.account.id } : { id: event.account.id, username: event.account.username }
  return {
    type: event.type,
    timestamp: new Date(event.occurredAtMs).toISOString(),
    data: { userId: event.userId, platform: event.platform, account, ...(event.reason === undefined ? {} : { reason: event.reason }) }
  }
}

export function webhookBody (event: ConnectionEvent): string {
  return JSON.stringify(webhookPayload(event))
}
