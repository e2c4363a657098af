// The token store: connections of users to platforms, encrypted at rest, written under versions and
// per-token claims so that two writers never lose a rotated refresh token (RFC 9700 §4.14.2).
// No Fastify here: routes, the refresh run, the CLI and benchmarks all use this factory. It only
// assembles the parts, one job each: reads (token-reads.ts), the refresh path's claimed writes
// (claimed-writes.ts), the connect flow's writes (connection-writes.ts), and the rules saying which
// state change sends which connection event (connection-events.ts).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { createClaimedWrites, type ClaimedWrites } from './claimed-writes.js'
import { createConnectionEventRules } from './connection-events.js'
import { createConnectionWrites, type ConnectionWrites } from './connection-writes.js'
import type { Cipher } from './crypto.js'
import { createTokenReads, type TokenReads } from './token-reads.js'

export interface TokenStoreOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly cipher: Cipher
  readonly now?: () => number
  /** Attempts at settling a write whose answer was lost (network), by re-reading. */
  readonly settleAttempts?: number
  /** Rounds of BatchGetItem for keys DynamoDB leaves unprocessed (it does so when throttled). */
  readonly batchGetRounds?: number
  /**
   * Webhooks configured: each state change the platform hears about (connection-events.ts) is written
   * together with its connection event in one TransactWriteItems, for the delivery worker to send.
   */
  readonly connectionEvents?: boolean
}

/** Everything the service does with stored connections. */
export interface TokenStore extends TokenReads, ClaimedWrites, ConnectionWrites {}

export function createTokenStore ({ doc, table, cipher, now = Date.now, settleAttempts = 3, batchGetRounds = 3, connectionEvents = false }: TokenStoreOptions): TokenStore {
  const reads = createTokenReads({ doc, table, cipher, batchGetRounds })
  const events = createConnectionEventRules({ table, enabled: connectionEvents, now })
  return {
    ...reads,
    ...createClaimedWrites({ doc, table, cipher, now, reads, events, settleAttempts }),
    ...createConnectionWrites({ doc, table, cipher, now, reads, events })
  }
}
