// The token store: connections of users to platforms, encrypted at rest, written under versions and
// per-token claims so that two writers never lose a rotated refresh token (RFC 9700 §4.14.2).
// No Fastify here: routes, the refresh run, the CLI and benchmarks all use this factory.
import { randomUUID } from 'node:crypto'
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb'
import type { TokenGrant } from '../tokens.js'
import type { Cipher } from './crypto.js'
import { retry, type RetryPolicy } from './retry.js'
import { canceledConditionItem, conditionFailedItem, isConditionalCheckFailed, storeCall, StoreUnavailableError } from './errors.js'
import { putEventTransactItem } from './event-params.js'
import { CONNECTION_EVENTS, newEventId, pendingEventItem, type ConnectionEvent, type ConnectionEventType } from './event-item.js'
import {
  ATTR, isUserKey, openSecrets, recordFromItem, sealSecrets, TOKEN_STATUS,
  type Account, type TokenKey, type TokenRecord, type TokenSecrets
} from './token-item.js'
import {
  BATCH_GET_MAX_KEYS, batchGetTokensParams, claimedUpdateParams, claimParams, deleteConnectionParams, deleteReadConnectionParams, forceSlotParams,
  getTokenParams, listByUserParams, moveDueAtParams, putConnectionParams, queryDueParams, releaseClaimParams, withEventParams, type ClaimedWrite, type DueRange
} from './token-params.js'

export interface NewConnection extends TokenKey {
  readonly account: Account
  readonly scopes: readonly string[]
  readonly accessToken: string
  readonly refreshToken?: string | undefined
  readonly expiresAtMs: number
  readonly refreshExpiresAtMs?: number | undefined
}

/** Why a claim was not taken. */
export const CLAIM_FAILURES = {
  gone: 'gone',
  versionChanged: 'version_changed',
  claimedByOther: 'claimed_by_other',
  notConnected: 'not_connected'
} as const
export type ClaimFailure = typeof CLAIM_FAILURES[keyof typeof CLAIM_FAILURES]

/** Why a claimed write did not land. */
export const WRITE_FAILURES = { lostClaim: 'lost_claim' } as const
export type WriteFailure = typeof WRITE_FAILURES[keyof typeof WRITE_FAILURES]

/** A provider's grant as the store writes it after a refresh. */
export interface RefreshedTokens extends TokenGrant {
  /** on_demand: the byExpiry sort value (the next grant-keeping deadline); undefined = the access expiry. */
  readonly dueAtMs?: number | undefined
  /** When the refresh happened, as the caller computed `dueAtMs` from it; default: the store's clock now. */
  readonly refreshedAtMs?: number | undefined
}

export type ClaimResult =
  | { readonly claimed: true, readonly claimId: string, readonly claimUntilMs: number }
  | { readonly claimed: false, readonly reason: ClaimFailure, readonly current?: TokenRecord }

export type WriteResult =
  | { readonly written: true, readonly record: TokenRecord }
  | { readonly written: false, readonly reason: WriteFailure, readonly current?: TokenRecord }

/**
 * What one batch of consistent reads saw, by tokenKeyId(): a record, or undefined where no item exists.
 * A key missing from the map was not read (DynamoDB kept leaving it unprocessed): read it alone.
 */
export type BatchRead = ReadonlyMap<string, TokenRecord | undefined>

/** The map key of BatchRead. */
export const tokenKeyId = (k: TokenKey): string => `${k.platform}\u0000${k.userId}`

export interface DueKey extends TokenKey {
  /** The index's sort value (`expiresAt`): the access expiry, or an on_demand deadline (TokenRecord.dueAtMs). */
  readonly expiresAtMs: number
}

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
   * Webhooks configured: each state change the platform hears about (needs_reauth, a reconnect of a
   * needs_reauth connection, a disconnect, the first expired failure of a streak) is written together
   * with its connection event in one TransactWriteItems, for the delivery worker to send.
   */
  readonly connectionEvents?: boolean
}

export type TokenStore = ReturnType<typeof createTokenStore>

/** Settling a write whose answer was lost: the same conditional write again, after 200 ms, 400 ms… */
const SETTLE_POLICY = (attempts: number): RetryPolicy => ({ attempts, baseDelayMs: 200 })
/** Keys DynamoDB leaves unprocessed (it does so when throttled), asked again with jittered backoff. */
const BATCH_GET_POLICY = (rounds: number): RetryPolicy => ({ attempts: rounds, baseDelayMs: 100, jitter: true })
/** A connection saved while another writer moves the item: read and write again at once. */
const CONTENTION_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 0 }

/** Thrown inside getMany's rounds while keys remain unread. */
class UnprocessedKeys extends Error {}

export function createTokenStore ({ doc, table, cipher, now = Date.now, settleAttempts = 3, batchGetRounds = 3, connectionEvents = false }: TokenStoreOptions) {
  function eventOf (type: ConnectionEventType, record: Pick<TokenRecord, 'userId' | 'platform' | 'account'>, reason?: string): ConnectionEvent {
    const nowMs = now()
    return { id: newEventId(nowMs), type, occurredAtMs: nowMs, userId: record.userId, platform: record.platform, account: record.account, ...(reason === undefined ? {} : { reason }) }
  }

  /** A transaction of a state change and its event; index 0 is the state change. */
  async function sendWithEvent (operation: string, params: TransactWriteCommandInput): Promise<void> {
    await storeCall(operation, () => doc.send(new TransactWriteCommand(params)))
  }

  async function get (key: TokenKey, consistent = true): Promise<TokenRecord | undefined> {
    const { Item } = await storeCall('GetItem', () => doc.send(new GetCommand(getTokenParams(table, key, consistent))))
    return Item === undefined ? undefined : recordFromItem(Item)
  }

  async function claimedUpdate (key: TokenKey, write: ClaimedWrite, set: Record<string, unknown>, remove: readonly string[], event?: ConnectionEvent): Promise<WriteResult> {
    const params = claimedUpdateParams(table, key, write, set, remove)
    const transaction = event === undefined ? undefined : withEventParams(params, putEventTransactItem(table, pendingEventItem(event)), randomUUID())
    /** The condition of the state change failed, alone or as item 0 of its transaction. */
    const lostCondition = (err: unknown): boolean => isConditionalCheckFailed(err) || canceledConditionItem(err, 0).failed
    try {
      // Outcome unknown (an error other than the condition): the same conditional write either lands
      // on the next attempt or tells us (below) that the earlier one had. A transaction carries a
      // ClientRequestToken, so sending it again is idempotent.
      return await retry(SETTLE_POLICY(settleAttempts), (err) => !lostCondition(err), async (attempt): Promise<WriteResult> => {
        try {
          if (transaction === undefined) {
            const { Attributes } = await doc.send(new UpdateCommand(params))
            return { written: true, record: recordFromItem(Attributes ?? {}) }
          }
          await doc.send(new TransactWriteCommand(transaction))
          const written = await get(key, true)
          if (written !== undefined) return { written: true, record: written }
          return { written: false, reason: WRITE_FAILURES.lostClaim }
        } catch (err) {
          if (!lostCondition(err)) throw err
          const canceled = canceledConditionItem(err, 0)
          const item = canceled.failed ? canceled.item : conditionFailedItem(err)
          const current = item === undefined ? undefined : recordFromItem(item)
          // Only after an attempt whose answer was lost: did that attempt land? It did if the item is
          // exactly our write (our claim id, the next version, the very values we sent: ciphertexts
          // carry a fresh nonce, so no other write can match them).
          if (attempt > 1 && item !== undefined && current?.version === write.readVersion + 1 &&
            item[ATTR.lastClaimId] === write.claimId && Object.entries(set).every(([name, value]) => sameValue(item[name], value))) {
            return { written: true, record: current }
          }
          return current === undefined ? { written: false, reason: WRITE_FAILURES.lostClaim } : { written: false, reason: WRITE_FAILURES.lostClaim, current }
        }
      })
    } catch (err) {
      throw new StoreUnavailableError('UpdateItem', err)
    }
  }

  /**
   * Consistent reads of many tokens, up to 100 per BatchGetItem: one round trip where get() makes one
   * per token (the refresh run reads each page of due keys this way). Unprocessed keys are asked
   * again with exponential backoff, as AWS advises; any still unread are left out of the answer.
   */
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

    openSecrets (record: TokenRecord): TokenSecrets {
      return openSecrets(cipher, record)
    },

    async listByUser (userId: string): Promise<TokenRecord[]> {
      const records: TokenRecord[] = []
      let startKey: Record<string, unknown> | undefined
      do {
        const page = await storeCall('Query', () => doc.send(new QueryCommand(listByUserParams(table, userId, startKey))))
        for (const item of page.Items ?? []) records.push(recordFromItem(item))
        startKey = page.LastEvaluatedKey
      } while (startKey !== undefined)
      return records
    },

    /** Due keys of one platform, page by page from the sparse index; never the whole set in memory. */
    async * queryDue (platform: string, untilMs: number, pageSize = 100, range: DueRange = {}): AsyncGenerator<DueKey[]> {
      if (range.afterMs !== undefined && range.afterMs >= untilMs) return
      let startKey: Record<string, unknown> | undefined
      do {
        const page = await storeCall('Query', () => doc.send(new QueryCommand(queryDueParams(table, platform, untilMs, pageSize, startKey, range))))
        const keys: DueKey[] = []
        for (const item of page.Items ?? []) {
          const userId = item[ATTR.userId]
          const expiresAtMs = item[ATTR.expiresAt]
          if (typeof userId !== 'string' || !isUserKey(userId) || typeof expiresAtMs !== 'number') continue
          keys.push({ userId, platform, expiresAtMs })
        }
        if (keys.length > 0) yield keys
        startKey = page.LastEvaluatedKey
      } while (startKey !== undefined)
    },

    /** Stores a new grant, replacing any older one of the same user and platform (the newer version wins). */
    async saveConnection (connection: NewConnection): Promise<TokenRecord> {
      const nowMs = now()
      try {
        // Another writer moved the item between our read and our write: read again, write again.
        return await retry(CONTENTION_POLICY, (err) => isConditionalCheckFailed(err) || canceledConditionItem(err, 0).failed, async () => {
          const current = await get(connection, true)
          const item = {
            [ATTR.userId]: connection.userId,
            [ATTR.platform]: connection.platform,
            [ATTR.status]: TOKEN_STATUS.connected,
            [ATTR.version]: (current?.version ?? 0) + 1,
            [ATTR.accountId]: connection.account.id,
            [ATTR.username]: connection.account.username,
            [ATTR.scopes]: [...connection.scopes],
            [ATTR.expiresAt]: connection.expiresAtMs,
            [ATTR.refreshExpiresAtMs]: connection.refreshExpiresAtMs,
            [ATTR.issuedAtMs]: nowMs,
            [ATTR.connectedAtMs]: nowMs,
            [ATTR.updatedAtMs]: nowMs,
            [ATTR.attempts]: 0,
            ...sealSecrets(cipher, connection, connection)
          }
          const put = putConnectionParams(table, item, current?.version)
          // A needs_reauth connection connected again: the platform hears it recovered.
          if (connectionEvents && current?.status === TOKEN_STATUS.needsReauth) {
            await sendWithEvent('TransactWriteItems', withEventParams(put, putEventTransactItem(table, pendingEventItem(eventOf(CONNECTION_EVENTS.recovered, recordFromItem(item)))), randomUUID()))
          } else {
            await storeCall('PutItem', () => doc.send(new PutCommand(put)))
          }
          return recordFromItem(item)
        })
      } catch (err) {
        if (!isConditionalCheckFailed(err) && !canceledConditionItem(err, 0).failed) throw err
        throw new StoreUnavailableError('PutItem', new Error('too much contention on one connection', { cause: err }))
      }
    },

    /** Takes the right to call the provider with this token's refresh token (see token-params.ts). */
    async claim (record: TokenRecord, claimId: string, leaseMs: number): Promise<ClaimResult> {
      const nowMs = now()
      const claimUntilMs = nowMs + leaseMs
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(claimParams(table, record, record.version, claimId, claimUntilMs, nowMs))))
        return { claimed: true, claimId, claimUntilMs }
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err
        const item = conditionFailedItem(err)
        if (item === undefined) return { claimed: false, reason: CLAIM_FAILURES.gone }
        const current = recordFromItem(item)
        const reason = current.version !== record.version
          ? CLAIM_FAILURES.versionChanged
          : current.status !== TOKEN_STATUS.connected ? CLAIM_FAILURES.notConnected : CLAIM_FAILURES.claimedByOther
        return { claimed: false, reason, current }
      }
    },

    /** Writes a provider's fresh tokens; the rotated refresh token lands in the same write. */
    async completeRefresh (record: TokenRecord, claimId: string, tokens: RefreshedTokens): Promise<WriteResult> {
      const nowMs = now()
      // One instant for the stored refresh time and the deadline derived from it (keepalive counts from it).
      const refreshedAtMs = tokens.refreshedAtMs ?? nowMs
      // A provider that keeps its refresh token (Reddit) gets it re-sealed too, under the newest key:
      // otherwise it would stay under a retired key until a reconnect, and a key rotation
      // (docs/runbook.md §7) could never finish by refreshes alone.
      const refreshToken = tokens.refreshToken ?? openSecrets(cipher, record).refreshToken
      const set: Record<string, unknown> = {
        ...sealSecrets(cipher, record, { accessToken: tokens.accessToken, refreshToken }),
        ...indexValues(tokens.expiresAtMs, tokens.dueAtMs),
        [ATTR.issuedAtMs]: refreshedAtMs,
        [ATTR.lastRefreshedAtMs]: refreshedAtMs,
        [ATTR.attempts]: 0
      }
      if (tokens.refreshExpiresAtMs !== undefined) set[ATTR.refreshExpiresAtMs] = tokens.refreshExpiresAtMs
      if (tokens.scopes !== undefined) set[ATTR.scopes] = [...tokens.scopes]
      const remove = [ATTR.lastError, ATTR.nextAttemptAtMs, ATTR.refreshFailingAtMs, ...(ATTR.accessExpiresAtMs in set ? [] : [ATTR.accessExpiresAtMs])]
      return claimedUpdate(record, { claimId, readVersion: record.version, nowMs }, set, remove)
    },

    /**
     * on_demand: moves a token's index entry to its next grant-keeping deadline, so the run's query
     * stops finding it until then (an index-key change: DynamoDB writes the index twice). Tokens
     * connected or refreshed under eager carry their access expiry there; the first on_demand run
     * that finds one moves it. Not a token change, so the version stays: a claimer's write lands
     * anyway and sets the value again.
     */
    async moveDueAt (record: TokenRecord, dueAtMs: number): Promise<boolean> {
      if (record.expiresAtMs === undefined) return false
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(moveDueAtParams(table, record, record.version, record.expiresAtMs ?? 0, dueAtMs, now()))))
        return true
      } catch (err) {
        if (isConditionalCheckFailed(err)) return false
        throw err
      }
    },

    /** A transient failure: the token stays due, with its attempts counted and a time before the next try. */
    async recordFailure (record: TokenRecord, claimId: string, errorCode: string, nextAttemptAtMs: number): Promise<WriteResult> {
      const nowMs = now()
      const set: Record<string, unknown> = {
        [ATTR.attempts]: record.attempts + 1,
        [ATTR.lastError]: errorCode,
        [ATTR.nextAttemptAtMs]: nextAttemptAtMs
      }
      // The access token has expired and refreshing keeps failing: the platform hears it once per streak.
      const failing = connectionEvents && record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs && record.refreshFailingAtMs === undefined
      if (failing) set[ATTR.refreshFailingAtMs] = nowMs
      return claimedUpdate(record, { claimId, readVersion: record.version, nowMs }, set, [],
        failing ? eventOf(CONNECTION_EVENTS.refreshFailing, record, errorCode) : undefined)
    },

    /**
     * A permanent failure: the token leaves the sparse byExpiry index (no expiresAt) and gains a TTL
     * (epoch seconds) so DynamoDB purges it after the retention period.
     */
    async markNeedsReauth (record: TokenRecord, claimId: string, reason: string, retentionDays: number): Promise<WriteResult> {
      const nowMs = now()
      return claimedUpdate(record, { claimId, readVersion: record.version, nowMs }, {
        [ATTR.status]: TOKEN_STATUS.needsReauth,
        [ATTR.lastError]: reason,
        [ATTR.needsReauthAtMs]: nowMs,
        [ATTR.ttl]: Math.floor(nowMs / 1000) + retentionDays * 86_400
      }, [ATTR.expiresAt, ATTR.accessExpiresAtMs, ATTR.nextAttemptAtMs], connectionEvents ? eventOf(CONNECTION_EVENTS.needsReauth, record, reason) : undefined)
    },

    /** Takes this token's forced-refresh slot; false while the last forced refresh is within `cooldownMs`. */
    async takeForceSlot (key: TokenKey, cooldownMs: number): Promise<boolean> {
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(forceSlotParams(table, key, now(), cooldownMs))))
        return true
      } catch (err) {
        if (isConditionalCheckFailed(err)) return false
        throw err
      }
    },

    async releaseClaim (key: TokenKey, claimId: string): Promise<boolean> {
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(releaseClaimParams(table, key, claimId))))
        return true
      } catch (err) {
        if (isConditionalCheckFailed(err)) return false
        throw err
      }
    },

    /** Forgets a connection; answers what was there (to say `not_connected` when nothing was). */
    async deleteConnection (key: TokenKey): Promise<TokenRecord | undefined> {
      if (connectionEvents) {
        // The deleted item is the one read: its account goes into the event, in the same transaction.
        for (let attempt = 0; attempt < 5; attempt++) {
          const current = await get(key, true)
          if (current === undefined) return undefined
          const event = putEventTransactItem(table, pendingEventItem(eventOf(CONNECTION_EVENTS.disconnected, current)))
          try {
            await sendWithEvent('TransactWriteItems', withEventParams(deleteReadConnectionParams(table, key, current.version), event, randomUUID()))
            return current
          } catch (err) {
            if (!canceledConditionItem(err, 0).failed) throw err
          }
        }
        throw new StoreUnavailableError('TransactWriteItems', new Error('too much contention on one connection'))
      }
      const { Attributes } = await storeCall('DeleteItem', () => doc.send(new DeleteCommand(deleteConnectionParams(table, key))))
      return Attributes === undefined ? undefined : recordFromItem(Attributes)
    }
  }
}

/** The index value and, where it is not the access expiry, the access expiry beside it. */
function indexValues (expiresAtMs: number, dueAtMs: number | undefined): Record<string, number> {
  if (dueAtMs === undefined || dueAtMs === expiresAtMs) return { [ATTR.expiresAt]: expiresAtMs }
  return { [ATTR.expiresAt]: dueAtMs, [ATTR.accessExpiresAtMs]: expiresAtMs }
}

function recordKey (item: Record<string, unknown>): TokenKey {
  return { userId: String(item[ATTR.userId]), platform: String(item[ATTR.platform]) }
}

function sameValue (stored: unknown, sent: unknown): boolean {
  return JSON.stringify(stored) === JSON.stringify(sent)
}
