// The refresh runner: takes the cron lock, starts a pass, and when the pass ends logs its summary,
// writes it to the lock item and releases the lock — also after a failure half-way. It keeps the runs
// of this process so that shutdown can stop them cleanly, and refuses new runs once shutdown has begun.
// The request caps are the fleet's provider budget (src/budget), in DynamoDB, not in this process.
import type { Platform } from '../platforms/platform.js'
import { StoreUnavailableError } from '../store/errors.js'
import type { RunLock } from '../store/lock.js'
import { retry } from '../store/retry.js'
import type { TokenStore } from '../store/token-store.js'
import type { ProviderBudget } from '../budget/provider-budget.js'
import type { RefreshLogger } from './refresh-one.js'
import type { PartLeases } from '../store/part-leases.js'
import type { Part } from './part-of.js'
import { addSummaries, createPartWorker, runPass, type PartWorker } from './parts.js'
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
  /** The fleet's provider budget; unset: no cap is applied by the run (its calls still pass the funnel's gate). */
  readonly budget?: ProviderBudget | undefined
  /** REFRESH_PARTS > 1: the pass is shared out in parts under leases (parts.ts). Unset or count 1: one run. */
  readonly parts?: {
    readonly count: number
    readonly leases: PartLeases
    /** This instance, as a part's holder. */
    readonly holder: string
    /** How often an instance waiting for the others' parts looks at them. */
    readonly pollMs: number
  } | undefined
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
  /** REFRESH_PARTS > 1: takes the open parts of a pass another instance started, if any (called on a timer). */
  joinOpenPass (): Promise<void>
  /** Shutdown: no new run or token is started; tokens in flight finish and are written; locks are released. */
  close (): Promise<void>
}

/** Releasing the lock at the end of a run: a few tries over a store that blinks, then its lease frees it. */
const RELEASE_POLICY = { attempts: 4, baseDelayMs: 500 } as const

export function createRefreshRunner (opts: RefreshRunnerOptions): RefreshRunner {
  const active = new Map<string, Promise<RunSummary>>()
  const shutdown = new AbortController()

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

  const runOptions = (runId: string, runBudgetMs: number, part?: Part): Parameters<typeof startRun>[0] => ({
    runId,
    store: opts.store,
    platforms: opts.platforms(),
    now: opts.now,
    log: opts.log,
    runBudgetMs,
    lapseMarginMs: opts.run.lapseMarginMs,
    claimLeaseMs: opts.run.claimLeaseMs,
    retentionDays: opts.run.needsReauthRetentionDays,
    budget: opts.budget,
    signal: shutdown.signal,
    pageSize: opts.pageSize,
    part
  })
  const partsOf = opts.parts !== undefined && opts.parts.count > 1 ? opts.parts : undefined
  const worker: PartWorker | undefined = partsOf === undefined
    ? undefined
    : createPartWorker({
      leases: partsOf.leases,
      holder: partsOf.holder,
      now: opts.now,
      log: opts.log,
      // Claim ids name the holder: two instances on one part (a lease taken over) never share one.
      runPart: (passId, part, budgetMs) => startRun(runOptions(`${passId}:p${part.index}:${partsOf.holder}`, budgetMs, part))
    })
  let joining: Promise<void> | undefined

  /** The lock holder's handle on a pass in parts: its progress is what this instance's parts did so far. */
  function startParts (passId: string, count: number, leases: PartLeases, pollMs: number, w: PartWorker): RunHandle {
    const startedAtMs = opts.now()
    const finished = runPass(w, leases, { passId, count, runBudgetMs: opts.run.runBudgetMs, now: opts.now, pollMs, signal: shutdown.signal })
    return {
      runId: passId,
      progress: () => ({ ...addSummaries(passId, startedAtMs, opts.now(), w.progress(passId), false), done: false }),
      finished
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

      const log = opts.log
      log.info({ runId, leaseEndsAtMs: acquired.expiresAtMs, parts: partsOf?.count ?? 1 }, 'refresh run started')
      const handle = partsOf === undefined || worker === undefined
        ? startRun(runOptions(runId, opts.run.runBudgetMs))
        : startParts(runId, partsOf.count, partsOf.leases, partsOf.pollMs, worker)
      const settled = handle.finished.then(async (summary) => {
        logRunSummary(log, summary)
        await releaseWithSummary(runId, summary)
        return summary
      }).finally(() => active.delete(runId))
      active.set(runId, settled)
      return { started: true, handle, settled }
    },

    get activeRuns (): number { return active.size },

    async joinOpenPass (): Promise<void> {
      if (worker === undefined || shutdown.signal.aborted || joining !== undefined) return
      joining = worker.work().catch((err: unknown) => {
        opts.log.warn({ errorName: err instanceof Error ? err.name : typeof err }, 'looking for open refresh parts failed')
      }).finally(() => { joining = undefined })
      await joining
    },

    async close (): Promise<void> {
      shutdown.abort()
      await Promise.allSettled([...active.values(), joining])
    }
  }
}
