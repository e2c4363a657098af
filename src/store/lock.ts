// The cron run lock: one item, taken with a conditional UpdateItem, owned by a run id, released only
// by its owner, with a lease longer than the run budget (Config's lockLeaseMs). It saves duplicate work; the per-token claims
// (token-store.ts) are what keep a rotating refresh token safe.
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionFailedItem, isConditionalCheckFailed, storeCall } from './errors.js'
import {
  acquireLockParams, forceReleaseLockParams, getLockParams, LOCK_ATTR, recordSummaryParams, releaseLockParams
} from './lock-params.js'

export type AcquireResult =
  | { readonly acquired: true, readonly runId: string, readonly expiresAtMs: number }
  | { readonly acquired: false, readonly heldBy: string | null, readonly expiresAtMs: number | null }

/** Why a release did not free the lock. */
export const RELEASE_FAILURES = {
  notHolder: 'not_holder',
  notExpired: 'not_expired',
  notHeld: 'not_held'
} as const
export type ReleaseFailure = typeof RELEASE_FAILURES[keyof typeof RELEASE_FAILURES]

export type ReleaseResult =
  | { readonly released: true }
  | { readonly released: false, readonly reason: ReleaseFailure, readonly heldBy: string | null, readonly expiresAtMs: number | null }

export interface LockState {
  /** Held: a run id owns it and its lease has not ended. */
  readonly held: boolean
  readonly runId: string | null
  readonly acquiredAtMs: number | null
  readonly expiresAtMs: number | null
  /** The last finished run's summary, as written by the run (opaque to the lock). */
  readonly lastRun: Record<string, unknown> | null
}

export interface LockOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly leaseMs: number
  readonly now?: () => number
}

export type RunLock = ReturnType<typeof createLock>

const numOrNull = (v: unknown): number | null => typeof v === 'number' ? v : null
const strOrNull = (v: unknown): string | null => typeof v === 'string' ? v : null

export function createLock ({ doc, table, leaseMs, now = Date.now }: LockOptions) {
  function holderOf (item: Record<string, unknown> | undefined): { heldBy: string | null, expiresAtMs: number | null } {
    return { heldBy: strOrNull(item?.[LOCK_ATTR.runId]), expiresAtMs: numOrNull(item?.[LOCK_ATTR.expiresAt]) }
  }

  return {
    leaseMs,

    /** `abortSignal` bounds the wait (a scheduler's answer budget); the caller settles an unknown outcome. */
    async acquire (runId: string, abortSignal?: AbortSignal): Promise<AcquireResult> {
      const nowMs = now()
      try {
        const command = new UpdateCommand(acquireLockParams(table, runId, nowMs, leaseMs))
        await storeCall('UpdateItem', () => doc.send(command, abortSignal === undefined ? {} : { abortSignal }))
        return { acquired: true, runId, expiresAtMs: nowMs + leaseMs }
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err
        return { acquired: false, ...holderOf(conditionFailedItem(err)) }
      }
    },

    /** Releases the lock if `runId` holds it; `summary` lands in the same write (the `/last` route reads it). */
    async release (runId: string, summary?: Record<string, unknown>): Promise<ReleaseResult> {
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(releaseLockParams(table, runId, summary))))
        return { released: true }
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err
        const holder = holderOf(conditionFailedItem(err))
        return { released: false, reason: holder.heldBy === null ? RELEASE_FAILURES.notHeld : RELEASE_FAILURES.notHolder, ...holder }
      }
    },

    /** Clears a lease that has already ended (operators); a live lease is never taken from its holder. */
    async forceRelease (): Promise<ReleaseResult> {
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(forceReleaseLockParams(table, now()))))
        return { released: true }
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err
        const holder = holderOf(conditionFailedItem(err))
        return { released: false, reason: holder.expiresAtMs === null ? RELEASE_FAILURES.notHeld : RELEASE_FAILURES.notExpired, ...holder }
      }
    },

    /** Writes a run's summary without touching the holder; an older run's summary never replaces a newer one. */
    async recordSummary (summary: Record<string, unknown> & { finishedAtMs: number }): Promise<boolean> {
      try {
        await storeCall('UpdateItem', () => doc.send(new UpdateCommand(recordSummaryParams(table, summary))))
        return true
      } catch (err) {
        if (isConditionalCheckFailed(err)) return false
        throw err
      }
    },

    async status (): Promise<LockState> {
      const { Item } = await storeCall('GetItem', () => doc.send(new GetCommand(getLockParams(table))))
      const expiresAtMs = numOrNull(Item?.[LOCK_ATTR.expiresAt])
      const runId = strOrNull(Item?.[LOCK_ATTR.runId])
      const lastRun = Item?.[LOCK_ATTR.lastRun]
      return {
        held: runId !== null && expiresAtMs !== null && expiresAtMs >= now(),
        runId,
        acquiredAtMs: numOrNull(Item?.[LOCK_ATTR.acquiredAtMs]),
        expiresAtMs,
        lastRun: typeof lastRun === 'object' && lastRun !== null ? lastRun as Record<string, unknown> : null
      }
    }
  }
}
