// The refresh runner: takes the cron lock, starts a pass, and when the pass ends logs its summary,
// writes it to the lock item and releases the lock — also after a failure half-way. It keeps the runs
// of this process (and the request caps, which outlive a run) so that shutdown can stop them cleanly,
// and refuses new runs once shutdown has begun.
import type { Platform } from '../platforms/platform.js'
import { StoreUnavailableError } from '../store/errors.js'
import type { RunLock } from '../store/lock.js'
import { retry } from '../store/retry.js'
import type { TokenStore } from '../store/token-store.js'
import { createRateLimiter, type RateLimiter } from './limiter.js'
import type { RefreshLogger } from './refresh-one.js'
import { startRun, type RunHandle } from './run.js'
import { logRunSummary, type RunSummary } from './summary.js'

export interface RefreshRunnerOptions {
  readonly lock: RunLock
  readonly store: TokenStore
  readonly platforms: () => readonly Platform[]
  readonly now: () => number
  readonly log: RefreshLogger
  /** Config['run']'s members a run needs; the leases and the lapse margin are derived there, once. */
  readonly run: {
    readonly runBudgetMs: number
    readonly lapseMarginMs: number
    readonly claimLeaseMs: number
    readonly needsReauthRetentionDays: number
  }
  readonly pageSize?: number | undefined
}

/** Why a call started no run. */
export const NOT_STARTED = {
  locked: 'locked',
  shuttingDown: 'shutting_down'
} as const

export type StartResult =
  | { readonly started: true, readonly handle: RunHandle, /** Resolves once the summary is written and the lock released. */ readonly settled: Promise<RunSummary> }
  | { readonly started: false, readonly reason: typeof NOT_STARTED.locked, readonly heldBy: string | null, readonly expiresAtMs: number | null }
  | { readonly started: false, readonly reason: typeof NOT_STARTED.shuttingDown }

export interface RefreshRunner {
  /** Takes the lock (StoreUnavailableError when the store does not answer) and starts a run. */
  start (runId: string, abortSignal?: AbortSignal): Promise<StartResult>
  readonly activeRuns: number
  /** Shutdown: no new run or token is started; tokens in flight finish and are written; locks are released. */
  close (): Promise<void>
}

/** Releasing the lock at the end of a run: a few tries over a store that blinks, then its lease frees it. */
const RELEASE_POLICY = { attempts: 4, baseDelayMs: 500 } as const

export function createRefreshRunner (opts: RefreshRunnerOptions): RefreshRunner {
  const active = new Map<string, Promise<RunSummary>>()
  const shutdown = new AbortController()
  const limiters = new Map<string, RateLimiter>()
  const limitersFor = (platforms: readonly Platform[]): Map<string, RateLimiter> => {
    for (const p of platforms) {
      const perMinute = p.config.requestsPerMinute
      if (perMinute !== undefined && !limiters.has(p.name)) limiters.set(p.name, createRateLimiter(perMinute))
    }
    return limiters
  }

  async function releaseWithSummary (runId: string, summary: RunSummary): Promise<void> {
    try {
      await retry(RELEASE_POLICY, (err) => err instanceof StoreUnavailableError, async () => {
        const released = await opts.lock.release(runId, summary)
        if (!released.released) {
          // Our lease ran out and another run holds the lock: leave it, still report.
          opts.log.warn({ runId, heldBy: released.heldBy, reason: released.reason }, 'run lock was no longer ours at the end of the run')
          await opts.lock.recordSummary(summary)
        }
      })
    } catch (err) {
      opts.log.error({ runId, errorName: err instanceof Error ? err.name : typeof err }, 'run lock not released; it frees itself when its lease ends')
    }
  }

  return {
    async start (runId: string, abortSignal?: AbortSignal): Promise<StartResult> {
      if (shutdown.signal.aborted) return { started: false, reason: NOT_STARTED.shuttingDown }
      let acquired
      try {
        acquired = await opts.lock.acquire(runId, abortSignal)
      } catch (err) {
        // The write's outcome is unknown (timeout, dropped answer): free it in case it landed.
        opts.lock.release(runId).catch(() => {})
        throw err
      }
      if (!acquired.acquired) return { started: false, reason: NOT_STARTED.locked, heldBy: acquired.heldBy, expiresAtMs: acquired.expiresAtMs }

      const platforms = opts.platforms()
      const log = opts.log
      log.info({ runId, leaseEndsAtMs: acquired.expiresAtMs }, 'refresh run started')
      const handle = startRun({
        runId,
        store: opts.store,
        platforms,
        now: opts.now,
        log,
        runBudgetMs: opts.run.runBudgetMs,
        lapseMarginMs: opts.run.lapseMarginMs,
        claimLeaseMs: opts.run.claimLeaseMs,
        retentionDays: opts.run.needsReauthRetentionDays,
        limiters: limitersFor(platforms),
        signal: shutdown.signal,
        pageSize: opts.pageSize
      })
      const settled = handle.finished.then(async (summary) => {
        logRunSummary(log, summary)
        await releaseWithSummary(runId, summary)
        return summary
      }).finally(() => active.delete(runId))
      active.set(runId, settled)
      return { started: true, handle, settled }
    },

    get activeRuns (): number { return active.size },

    async close (): Promise<void> {
      shutdown.abort()
      await Promise.allSettled([...active.values()])
    }
  }
}
