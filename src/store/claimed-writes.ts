// The refresh path's writes: a claim on a token (the right to spend its refresh token, RFC 9700
// §4.14.2), the claimer's outcomes (fresh tokens, a transient failure, needs_reauth), the claim given
// back, and two bookkeeping writes that move no version (the on_demand due time, the forced-refresh slot).
import { TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { TokenGrant } from '../tokens.js'
import type { Cipher } from './crypto.js'
import type { ConnectionEventRules } from './connection-events.js'
import { conditionalWrite, type ConditionalWrite } from './dynamodb-calls.js'
import { StoreUnavailableError } from './errors.js'
import type { ConnectionEvent } from './event-item.js'
import { retry, type RetryPolicy } from './retry.js'
import { ATTR, openSecrets, recordFromItem, sealSecrets, TOKEN_STATUS, type TokenKey, type TokenRecord } from './token-item.js'
import { claimedUpdateParams, claimParams, forceSlotParams, moveDueAtParams, releaseClaimParams, type ClaimedWrite } from './token-params.js'
import type { TokenReads } from './token-reads.js'

/** Why a claim was not taken. */
export const CLAIM_FAILURES = {
  gone: 'gone',
  versionChanged: 'version_changed',
  claimedByOther: 'claimed_by_other',
  notConnected: 'not_connected'
} as const
export type ClaimFailure = typeof CLAIM_FAILURES[keyof typeof CLAIM_FAILURES]

/** Why a claimed write did not land. */
const WRITE_FAILURES = { lostClaim: 'lost_claim' } as const
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

export interface ClaimedWrites {
  /** Takes the right to call the provider with this token's refresh token (see token-params.ts). */
  claim (record: TokenRecord, claimId: string, leaseMs: number): Promise<ClaimResult>
  /** Writes a provider's fresh tokens; the rotated refresh token lands in the same write. */
  completeRefresh (record: TokenRecord, claimId: string, tokens: RefreshedTokens): Promise<WriteResult>
  /** A transient failure: the token stays due, with its attempts counted and a time before the next try. */
  recordFailure (record: TokenRecord, claimId: string, errorCode: string, nextAttemptAtMs: number): Promise<WriteResult>
  /**
   * A permanent failure: the token leaves the sparse byExpiry index (no expiresAt) and gains a TTL
   * (epoch seconds) so DynamoDB purges it after the retention period.
   */
  markNeedsReauth (record: TokenRecord, claimId: string, reason: string, retentionDays: number): Promise<WriteResult>
  /** Gives a claim back without writing a grant; false when the claim was no longer ours. */
  releaseClaim (key: TokenKey, claimId: string): Promise<boolean>
  /**
   * on_demand: moves a token's index entry to its next grant-keeping deadline, so the run's query
   * stops finding it until then (an index-key change: DynamoDB writes the index twice). Tokens
   * connected or refreshed under eager carry their access expiry there; the first on_demand run
   * that finds one moves it. Not a token change, so the version stays: a claimer's write lands
   * anyway and sets the value again.
   */
  moveDueAt (record: TokenRecord, dueAtMs: number): Promise<boolean>
  /** Takes this token's forced-refresh slot; false while the last forced refresh is within `cooldownMs`. */
  takeForceSlot (key: TokenKey, cooldownMs: number): Promise<boolean>
}

/** What a writer of connections works with (claimed-writes.ts, connection-writes.ts). */
export interface TokenWriterOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly cipher: Cipher
  readonly now: () => number
  /** Writers read the item they condition on (consistently) through the store's reads. */
  readonly reads: Pick<TokenReads, 'get'>
  readonly events: ConnectionEventRules
}

export interface ClaimedWritesOptions extends TokenWriterOptions {
  /** Attempts at settling a write whose answer was lost (network), by re-reading. */
  readonly settleAttempts: number
}

/** Settling a write whose answer was lost: the same conditional write again, after 200 ms, 400 ms… */
const SETTLE_POLICY = (attempts: number): RetryPolicy => ({ attempts, baseDelayMs: 200 })

export function createClaimedWrites ({ doc, table, cipher, now, reads, events, settleAttempts }: ClaimedWritesOptions): ClaimedWrites {
  /** The claimer's conditional write (with its event, when a rule gave one), settled when its answer is lost. */
  async function claimedUpdate (key: TokenKey, write: ClaimedWrite, set: Record<string, unknown>, remove: readonly string[], event?: ConnectionEvent): Promise<WriteResult> {
    const params = claimedUpdateParams(table, key, write, set, remove)
    const transaction = event === undefined ? undefined : events.withEvent(params, event)
    // Outcome unknown (a StoreUnavailableError: the answer was lost): the same conditional write either
    // lands on the next attempt or tells us (below) that the earlier one had. A transaction carries a
    // ClientRequestToken, so sending it again is idempotent.
    return await retry(SETTLE_POLICY(settleAttempts), (err) => err instanceof StoreUnavailableError, async (attempt): Promise<WriteResult> => {
      let sent: ConditionalWrite<TokenRecord | undefined>
      if (transaction === undefined) {
        const update = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(params)))
        sent = update.applied ? { applied: true, output: recordFromItem(update.output.Attributes ?? {}) } : update
      } else {
        const transact = await conditionalWrite('TransactWriteItems', () => doc.send(new TransactWriteCommand(transaction)))
        sent = transact.applied ? { applied: true, output: await reads.get(key, true) } : transact
      }
      if (sent.applied) return sent.output === undefined ? { written: false, reason: WRITE_FAILURES.lostClaim } : { written: true, record: sent.output }
      const { item } = sent
      const current = item === undefined ? undefined : recordFromItem(item)
      // Only after an attempt whose answer was lost: did that attempt land? It did if the item is
      // exactly our write (our claim id, the next version, the very values we sent: ciphertexts
      // carry a fresh nonce, so no other write can match them).
      if (attempt > 1 && item !== undefined && current?.version === write.readVersion + 1 &&
        item[ATTR.lastClaimId] === write.claimId && Object.entries(set).every(([name, value]) => sameValue(item[name], value))) {
        return { written: true, record: current }
      }
      return current === undefined ? { written: false, reason: WRITE_FAILURES.lostClaim } : { written: false, reason: WRITE_FAILURES.lostClaim, current }
    })
  }

  return {
    async claim (record, claimId, leaseMs) {
      const nowMs = now()
      const claimUntilMs = nowMs + leaseMs
      const sent = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(claimParams(table, record, record.version, claimId, claimUntilMs, nowMs))))
      if (sent.applied) return { claimed: true, claimId, claimUntilMs }
      if (sent.item === undefined) return { claimed: false, reason: CLAIM_FAILURES.gone }
      const current = recordFromItem(sent.item)
      const reason = current.version !== record.version
        ? CLAIM_FAILURES.versionChanged
        : current.status !== TOKEN_STATUS.connected ? CLAIM_FAILURES.notConnected : CLAIM_FAILURES.claimedByOther
      return { claimed: false, reason, current }
    },

    async completeRefresh (record, claimId, tokens) {
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
      return await claimedUpdate(record, { claimId, readVersion: record.version, nowMs }, set, remove)
    },

    async recordFailure (record, claimId, errorCode, nextAttemptAtMs) {
      const nowMs = now()
      const set: Record<string, unknown> = {
        [ATTR.attempts]: record.attempts + 1,
        [ATTR.lastError]: errorCode,
        [ATTR.nextAttemptAtMs]: nextAttemptAtMs
      }
      const event = events.eventFor({ kind: 'refresh_failed', before: record, nowMs }, errorCode)
      // The streak is marked only with its event: the mark is what keeps the next failure from sending another.
      if (event !== undefined) set[ATTR.refreshFailingAtMs] = nowMs
      return await claimedUpdate(record, { claimId, readVersion: record.version, nowMs }, set, [], event)
    },

    async markNeedsReauth (record, claimId, reason, retentionDays) {
      const nowMs = now()
      return await claimedUpdate(record, { claimId, readVersion: record.version, nowMs }, {
        [ATTR.status]: TOKEN_STATUS.needsReauth,
        [ATTR.lastError]: reason,
        [ATTR.needsReauthAtMs]: nowMs,
        [ATTR.ttl]: Math.floor(nowMs / 1000) + retentionDays * 86_400
      }, [ATTR.dueAt, ATTR.accessExpiresAtMs, ATTR.nextAttemptAtMs], events.eventFor({ kind: 'needs_reauth', before: record }, reason))
    },

    releaseClaim: async (key, claimId) =>
      (await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(releaseClaimParams(table, key, claimId))))).applied,

    async moveDueAt (record, dueAtMs) {
      if (record.expiresAtMs === undefined) return false
      const { expiresAtMs } = record
      return (await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(moveDueAtParams(table, record, record.version, expiresAtMs, dueAtMs, now()))))).applied
    },

    takeForceSlot: async (key, cooldownMs) =>
      (await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(forceSlotParams(table, key, now(), cooldownMs))))).applied
  }
}

/**
 * The index value and, where it is not the access expiry, the access expiry beside it. The index
 * attribute (`expiresAt`, ATTR.dueAt) holds the due time; accessExpiresAtMs exists only when they differ.
 */
function indexValues (expiresAtMs: number, dueAtMs: number | undefined): Record<string, number> {
  if (dueAtMs === undefined || dueAtMs === expiresAtMs) return { [ATTR.dueAt]: expiresAtMs }
  return { [ATTR.dueAt]: dueAtMs, [ATTR.accessExpiresAtMs]: expiresAtMs }
}

function sameValue (stored: unknown, sent: unknown): boolean {
  return JSON.stringify(stored) === JSON.stringify(sent)
}
