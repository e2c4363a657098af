// The token store's reads: one connection, a batch of them, a user's, and the due keys of the byExpiry
// index. Nothing here writes; the writers (claimed-writes.ts, connection-writes.ts) read through it.
import { BatchGetCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Cipher } from './crypto.js'
import { queryPages } from './dynamodb-calls.js'
import { storeCall } from './errors.js'
import { retry, type RetryPolicy } from './retry.js'
import { ATTR, isUserKey, openSecrets, recordFromItem, type TokenKey, type TokenRecord, type TokenSecrets } from './token-item.js'
import { BATCH_GET_MAX_KEYS, batchGetTokensParams, getTokenParams, listByUserParams, queryDueParams, type DueRange } from './token-params.js'

/**
 * What one batch of consistent reads saw, by tokenKeyId(): a record, or undefined where no item exists.
 * A key missing from the map was not read (DynamoDB kept leaving it unprocessed): read it alone.
 */
export type BatchRead = ReadonlyMap<string, TokenRecord | undefined>

/** The map key of BatchRead. */
export const tokenKeyId = (k: TokenKey): string => `${k.platform}\u0000${k.userId}`

/** An entry of the byExpiry index: a connection and the moment it is due. */
export interface DueKey extends TokenKey {
  /**
   * The index's sort value, the `expiresAt` attribute: the access expiry (eager), or the next
   * grant-keeping deadline (on_demand) — TokenRecord.dueAtMs.
   */
  readonly dueAtMs: number
}

export interface TokenReads {
  /** One connection; `consistent` (the default) sees every write acknowledged before it. */
  get (key: TokenKey, consistent?: boolean): Promise<TokenRecord | undefined>
  /**
   * Consistent reads of many tokens, up to 100 per BatchGetItem: one round trip where get() makes one
   * per token (the refresh run reads each page of due keys this way). Unprocessed keys are asked
   * again with exponential backoff, as AWS advises; any still unread are left out of the answer.
   */
  getMany (keys: readonly TokenKey[]): Promise<BatchRead>
  /** A user's connections, every platform. */
  listByUser (userId: string): Promise<TokenRecord[]>
  /** Due keys of one platform, page by page from the sparse index; never the whole set in memory. */
  queryDue (platform: string, untilMs: number, pageSize?: number, range?: DueRange): AsyncGenerator<DueKey[]>
  /** The tokens of a record, decrypted: for the internal route and the provider call only. */
  openSecrets (record: TokenRecord): TokenSecrets
}

export interface TokenReadsOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly cipher: Cipher
  /** Rounds of BatchGetItem for keys DynamoDB leaves unprocessed (it does so when throttled). */
  readonly batchGetRounds?: number
}

/** Keys DynamoDB leaves unprocessed (it does so when throttled), asked again with jittered backoff. */
const BATCH_GET_POLICY = (rounds: number): RetryPolicy => ({ attempts: rounds, baseDelayMs: 100, jitter: true })

/** Thrown inside getMany's rounds while keys remain unread. */
class UnprocessedKeys extends Error {}

export function createTokenReads ({ doc, table, cipher, batchGetRounds = 3 }: TokenReadsOptions): TokenReads {
  async function get (key: TokenKey, consistent = true): Promise<TokenRecord | undefined> {
    const { Item } = await storeCall('GetItem', () => doc.send(new GetCommand(getTokenParams(table, key, consistent))))
    return Item === undefined ? undefined : recordFromItem(Item)
  }

  async function getMany (keys: readonly TokenKey[]): Promise<BatchRead> {
    const read = new Map<string, TokenRecord | undefined>()
    const unique = [...new Map(keys.map((k) => [tokenKeyId(k), { userId: k.userId, platform: k.platform }])).values()]
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
      let pending: TokenKey[] = unique.slice(start, start + BATCH_GET_MAX_KEYS)
      try {
        await retry(BATCH_GET_POLICY(batchGetRounds), (err) => err instanceof UnprocessedKeys, async () => {
          const answer = await storeCall('BatchGetItem', () => doc.send(new BatchGetCommand(batchGetTokensParams(table, pending))))
          for (const item of answer.Responses?.[table] ?? []) {
            const record = recordFromItem(item)
            read.set(tokenKeyId(record), record)
          }
          const unprocessed = new Set((answer.UnprocessedKeys?.[table]?.Keys ?? []).map((k) => tokenKeyId(recordKey(k))))
          for (const k of pending) if (!unprocessed.has(tokenKeyId(k)) && !read.has(tokenKeyId(k))) read.set(tokenKeyId(k), undefined)
          pending = pending.filter((k) => unprocessed.has(tokenKeyId(k)))
          if (pending.length > 0) throw new UnprocessedKeys()
        })
      } catch (err) {
        // Keys still unprocessed after the last round are left out of the answer (read alone later).
        if (!(err instanceof UnprocessedKeys)) throw err
      }
    }
    return read
  }

  return {
    get,
    getMany,

    async listByUser (userId) {
      const records: TokenRecord[] = []
      for await (const page of queryPages(doc, listByUserParams(table, userId))) {
        for (const item of page.Items ?? []) records.push(recordFromItem(item))
      }
      return records
    },

    async * queryDue (platform, untilMs, pageSize = 100, range = {}) {
      if (range.afterMs !== undefined && range.afterMs >= untilMs) return
      for await (const page of queryPages(doc, queryDueParams(table, platform, untilMs, pageSize, range))) {
        const keys: DueKey[] = []
        for (const item of page.Items ?? []) {
          const userId = item[ATTR.userId]
          const dueAtMs = item[ATTR.dueAt]
          if (typeof userId !== 'string' || !isUserKey(userId) || typeof dueAtMs !== 'number') continue
          keys.push({ userId, platform, dueAtMs })
        }
        if (keys.length > 0) yield keys
      }
    },

    openSecrets: (record) => openSecrets(cipher, record)
  }
}

function recordKey (item: Record<string, unknown>): TokenKey {
  return { userId: String(item[ATTR.userId]), platform: String(item[ATTR.platform]) }
}
