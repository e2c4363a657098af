// Runs under the lock: takes it, starts the pass, and when the pass ends logs its summary, writes it
// to the lock item and releases the lock — also after a failure half-way. Keeps the runs of this
// process (and the request caps, which outlive a run) so shutdown can stop them cleanly.
import type { Platform } from '../platforms/platform.js'
import { StoreUnavailableError } from '../store/errors.js'
import type { RunLock } from '../store/lock.js'
import type { TokenStore } from '../store/token-store.js'
import { createRateLimiter, type RateLimiter } from './limiter.js'
import type { RefreshLogger } from './refresh-one.js'
import { startRun, type RunHandle } from './run.js'
import { encodeRunSummary, logRunSummary, type RunSummary } from './summary.js'

export interface RunRegistryOptions {
  readonly lock: RunLock
  readonly store: TokenStore
  readonly platforms: () => readonly Platform[]
  readonly now: () => number
  readonly log: RefreshLogger
  readonly run: {
    readonly runBudgetMs: number
    readonly intervalMs: number
    readonly providerTimeoutMs: number
    readonly needsReauthRetentionDays: number
  }
  readonly pageSize?: number | undefined
}

export type StartResult =
  | { readonly started: true, readonly handle: RunHandle, /** Resolves once the summary is written and the lock released. */ readonly settled: Promise<RunSummary> }
  | { readonly started: false, readonly heldBy: string | null, readonly expiresAtMs: number | null }

export type RunRegistry = ReturnType<typeof createRunRegistry>

/** A claim outlasts the provider call (its timeout) three times over, so a slow answer is still ours. */
export function claimLeaseMs (providerTimeoutMs: number): number {
  return 3 * providerTimeoutMs
}

export function createRunRegistry (opts: RunRegistryOptions) {
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
    const record = encodeRunSummary(summary)
    for (let attempt = 1; ; attempt++) {
      try {
        const released = await opts.lock.release(runId, record)
        if (!released.released) {
          // Our lease ran out and another run holds the lock: leave it, still report.
          opts.log.warn({ runId, heldBy: released.heldBy, reason: released.reason }, 'run lock was no longer ours at the end of the run')
          await opts.lock.recordSummary(record)
        }
        return
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || attempt >= 4) {
          opts.log.error({ runId, errorName: err instanceof Error ? err.name : typeof err }, 'run lock not released; it frees itself when its lease ends')
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)))
      }
    }
  }

  return {
    /** Takes the lock (StoreUnavailableError when the store does not answer) and starts a run. */
    async start (runId: string, abortSignal?: AbortSignal): Promise<StartResult> {
      if (shutdown.signal.aborted) throw new StoreUnavailableError('start', new Error('shutting down'))
      let acquired
      try {
        acquired = await opts.lock.acquire(runId, abortSignal)
      } catch (err) {
        // The write's outcome is unknown (timeout, dropped answer): free it in case it landed.
        opts.lock.release(runId).catch(() => {})
        throw err
      }
      if (!acquired.acquired) return { started: false, heldBy: acquired.heldBy, expiresAtMs: acquired.expiresAtMs }

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
        lapseMarginMs: opts.run.intervalMs + opts.run.runBudgetMs,
        claimLeaseMs: claimLeaseMs(opts.run.providerTimeoutMs),
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

    /** Shutdown: no new token is started; tokens in flight finish and are written; locks are released. */
    async close (): Promise<void> {
      shutdown.abort()
      await Promise.allSettled([...active.values()])
    }
  }
}
