// The connect flow's writes: a grant saved (a first connection or a reconnect) and a connection
// deleted. Each is conditioned on the version it read; a writer that moved the item in between
// makes it read and write again.
import { DeleteCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import type { TokenWriterOptions } from './claimed-writes.js'
import { conditionalWrite, type ConditionalWrite } from './dynamodb-calls.js'
import { storeCall, StoreUnavailableError } from './errors.js'
import type { ConnectionEvent } from './event-item.js'
import { retry, type RetryPolicy } from './retry.js'
import { ATTR, recordFromItem, sealSecrets, TOKEN_STATUS, type Account, type TokenKey, type TokenRecord } from './token-item.js'
import { deleteConnectionParams, deleteReadConnectionParams, putConnectionParams, type StateChangeParams } from './token-params.js'

export interface NewConnection extends TokenKey {
  readonly account: Account
  readonly scopes: readonly string[]
  readonly accessToken: string
  readonly refreshToken?: string | undefined
  readonly expiresAtMs: number
  readonly refreshExpiresAtMs?: number | undefined
}

export interface ConnectionWrites {
  /** Stores a new grant, replacing any older one of the same user and platform (the newer version wins). */
  saveConnection (connection: NewConnection): Promise<TokenRecord>
  /** Forgets a connection; answers what was there (to say `not_connected` when nothing was). */
  deleteConnection (key: TokenKey): Promise<TokenRecord | undefined>
}

/** A connection written while another writer moves the item: read and write again at once. */
const CONTENTION_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 0 }

/** Thrown inside a contended write's attempts while the condition keeps being lost. */
class Contended extends Error {}

export function createConnectionWrites ({ doc, table, cipher, now, reads, events }: TokenWriterOptions): ConnectionWrites {
  /** The change alone (`send`), or with its event in one TransactWriteItems when a rule gave one. */
  async function sendChange (operation: string, send: () => Promise<unknown>, change: StateChangeParams, event: ConnectionEvent | undefined): Promise<ConditionalWrite<unknown>> {
    if (event === undefined) return await conditionalWrite(operation, send)
    return await conditionalWrite('TransactWriteItems', () => doc.send(new TransactWriteCommand(events.withEvent(change, event))))
  }

  /** Reads and writes again while another writer keeps moving the item, up to CONTENTION_POLICY. */
  async function untilWritten<T> (operation: string, attempt: () => Promise<ConditionalWrite<T>>): Promise<T> {
    try {
      return await retry(CONTENTION_POLICY, (err) => err instanceof Contended, async () => {
        const sent = await attempt()
        if (!sent.applied) throw new Contended()
        return sent.output
      })
    } catch (err) {
      if (!(err instanceof Contended)) throw err
      throw new StoreUnavailableError(operation, new Error('too much contention on one connection', { cause: err }))
    }
  }

  return {
    async saveConnection (connection) {
      const nowMs = now()
      return await untilWritten('PutItem', async () => {
        const current = await reads.get(connection, true)
        const item = {
          [ATTR.userId]: connection.userId,
          [ATTR.platform]: connection.platform,
          [ATTR.status]: TOKEN_STATUS.connected,
          [ATTR.version]: (current?.version ?? 0) + 1,
          [ATTR.accountId]: connection.account.id,
          [ATTR.username]: connection.account.username,
          [ATTR.scopes]: [...connection.scopes],
          [ATTR.dueAt]: connection.expiresAtMs,
          [ATTR.refreshExpiresAtMs]: connection.refreshExpiresAtMs,
          [ATTR.issuedAtMs]: nowMs,
          [ATTR.connectedAtMs]: nowMs,
          [ATTR.updatedAtMs]: nowMs,
          [ATTR.attempts]: 0,
          ...sealSecrets(cipher, connection, connection)
        }
        const saved = recordFromItem(item)
        const put = putConnectionParams(table, item, current?.version)
        const event = events.eventFor({ kind: 'connected', before: current, after: saved })
        const sent = await sendChange('PutItem', () => doc.send(new PutCommand(put)), put, event)
        return sent.applied ? { applied: true, output: saved } : sent
      })
    },

    async deleteConnection (key) {
      if (!events.enabled) {
        // No event to write: one DeleteItem, and what it removed says what was there.
        const { Attributes } = await storeCall('DeleteItem', () => doc.send(new DeleteCommand(deleteConnectionParams(table, key))))
        return Attributes === undefined ? undefined : recordFromItem(Attributes)
      }
      // The deleted item is the one read: its account goes into the event, in the same transaction.
      return await untilWritten('TransactWriteItems', async (): Promise<ConditionalWrite<TokenRecord | undefined>> => {
        const current = await reads.get(key, true)
        if (current === undefined) return { applied: true, output: undefined }
        const remove = deleteReadConnectionParams(table, key, current.version)
        const event = events.eventFor({ kind: 'disconnected', before: current })
        const sent = await sendChange('DeleteItem', () => doc.send(new DeleteCommand(remove)), remove, event)
        return sent.applied ? { applied: true, output: current } : sent
      })
    }
  }
}
