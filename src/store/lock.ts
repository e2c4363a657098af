// The cron run lock: one item, taken with a conditional UpdateItem, owned by a run id, released only
// by its owner, with a lease longer than the run budget (Config's lockLeaseMs). It saves duplicate work; the per-token claims
// (claimed-writes.ts) are what keep a rotating refresh token safe.
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionalWrite } from './dynamodb-calls.js'
import { storeCall } from './errors.js'
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

export interface RunLock {
  /** The lease a run gets (Config's lockLeaseMs): longer than the run budget. */
  readonly leaseMs: number
  /** `abortSignal` bounds the wait (a scheduler's answer budget); the caller settles an unknown outcome. */
  acquire (runId: string, abortSignal?: AbortSignal): Promise<AcquireResult>
  /** Releases the lock if `runId` holds it; `summary` lands in the same write (the `/last` route reads it). */
  release (runId: string, summary?: Record<string, unknown>): Promise<ReleaseResult>
  /** Clears a lease that has already ended (operators); a live lease is never taken from its holder. */
  forceRelease (): Promise<ReleaseResult>
  /** Writes a run's summary without touching the holder; an older run's summary never replaces a newer one. */
  recordSummary (summary: Record<string, unknown> & { finishedAtMs: number }): Promise<boolean>
  status (): Promise<LockState>
}

const numOrNull = (v: unknown): number | null => typeof v === 'number' ? v : null
const strOrNull = (v: unknown): string | null => typeof v === 'string' ? v : null

export function createLock ({ doc, table, leaseMs, now = Date.now }: LockOptions): RunLock {
  function holderOf (item: Record<string, unknown> | undefined): { heldBy: string | null, expiresAtMs: number | null } {
    return { heldBy: strOrNull(item?.[LOCK_ATTR.runId]), expiresAtMs: numOrNull(item?.[LOCK_ATTR.expiresAt]) }
  }

  return {
    leaseMs,

    async acquire (runId, abortSignal) {
      const nowMs = now()
      const command = new UpdateCommand(acquireLockParams(table, runId, nowMs, leaseMs))
      const sent = await conditionalWrite('UpdateItem', () => doc.send(command, abortSignal === undefined ? {} : { abortSignal }))
      if (sent.applied) return { acquired: true, runId, expiresAtMs: nowMs + leaseMs }
      const holder = holderOf(sent.item)
      // The holder is this very call: the SDK sent the write again after a timeout on a slow store, and
      // the first attempt had landed (runIds are fresh UUIDs). Seen under load in scripts/test-compose.sh,
      // where the run skipped itself, "locked" by its own runId, until the lease ran out.
      if (holder.heldBy === runId) return { acquired: true, runId, expiresAtMs: holder.expiresAtMs ?? nowMs + leaseMs }
      return { acquired: false, ...holder }
    },

    async release (runId, summary) {
      const sent = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(releaseLockParams(table, runId, summary))))
      if (sent.applied) return { released: true }
      const holder = holderOf(sent.item)
      return { released: false, reason: holder.heldBy === null ? RELEASE_FAILURES.notHeld : RELEASE_FAILURES.notHolder, ...holder }
    },

    async forceRelease () {
      const sent = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(forceReleaseLockParams(table, now()))))
      if (sent.applied) return { released: true }
      const holder = holderOf(sent.item)
      return { released: false, reason: holder.expiresAtMs === null ? RELEASE_FAILURES.notHeld : RELEASE_FAILURES.notExpired, ...holder }
    },

    recordSummary: async (summary) =>
      (await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand(recordSummaryParams(table, summary))))).applied,

    async status () {
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
