// One refresh pass over every platform of the registry: a paginated Query of the due keys per platform,
// each key through refreshOne() with bounded concurrency, a request cap and the run budget.
// No Fastify here: the cron route, the ops CLI and the benchmark all drive this.
import { performance } from 'node:perf_hooks'
import type { Platform } from '../platforms/platform.js'
import { StoreUnavailableError } from '../store/errors.js'
import type { TokenRecord } from '../store/token-item.js'
import { withSpan } from '../telemetry/tracing.js'
import { tokenKeyId, type DueKey } from '../store/token-reads.js'
import type { TokenStore } from '../store/token-store.js'
import { platformDueRules, queryHorizonMs } from './due.js'
import { createSemaphore, forEachConcurrent, type RateLimiter } from './limiter.js'
import { refreshOne, type RefreshLogger } from './refresh-one.js'
import { countOutcome, emptyTally, RUN_ERRORS, totals, type PlatformTally, type RunError, type RunSummary } from './summary.js'

export interface RunOptions {
  readonly runId: string
  readonly store: TokenStore
  readonly platforms: readonly Platform[]
  /** Wall clock (epoch ms) for expiries and claims; budgets are measured on the monotonic clock. */
  readonly now: () => number
  readonly log: RefreshLogger
  readonly runBudgetMs: number
  /** REFRESH_INTERVAL_MS + REFRESH_RUN_BUDGET_MS: see due.ts. */
  readonly lapseMarginMs: number
  readonly claimLeaseMs: number
  readonly retentionDays: number
  /** Per platform name, where the provider publishes a request cap. */
  readonly limiters?: ReadonlyMap<string, RateLimiter> | undefined
  /** Aborted on shutdown: no new token is started; those in flight finish and are written. */
  readonly signal?: AbortSignal | undefined
  readonly pageSize?: number | undefined
}

export interface RunHandle {
  readonly runId: string
  /** The counts so far (the response when the run outlives the response budget). */
  progress (): RunSummary
  readonly finished: Promise<RunSummary>
}

export function startRun (opts: RunOptions): RunHandle {
  const startedAtMs = opts.now()
  const t0 = performance.now()
  const deadline = t0 + opts.runBudgetMs
  const tallies = opts.platforms.map((p) => emptyTally(p.name, p.config.configured))
  const errorCodes: Record<string, number> = {}
  let partial = false
  let stopReason: RunError | undefined
  let claimSeq = 0

  const shouldStop = (): boolean => {
    if (stopReason !== undefined) return true
    if (opts.signal?.aborted === true) stopReason = RUN_ERRORS.shutdown
    else if (performance.now() >= deadline) partial = true
    return stopReason !== undefined || partial
  }

  async function runPlatform (platform: Platform, tally: PlatformTally): Promise<void> {
    if (!platform.config.configured) return
    const rules = platformDueRules(platform.config, platform.spec, opts.lapseMarginMs)
    const limiter = opts.limiters?.get(platform.name)
    const ctx = {
      store: opts.store,
      now: opts.now,
      log: opts.log,
      rules,
      claimLeaseMs: opts.claimLeaseMs,
      retentionDays: opts.retentionDays,
      takeRateSlot: limiter === undefined ? undefined : () => limiter.take(deadline, opts.signal),
      // The platform's concurrency bounds its provider calls; three times as many lanes keep the
      // claims and writes of the next tokens (and the next page's batch read) going while those calls
      // are in flight (a claimed token waits for a provider slot a few hundred ms at most: far inside its claim).
      withProviderSlot: createSemaphore(platform.config.refreshConcurrency)
    }
    // Two walks of the index. First the tokens that may wait for the next run (more than the lapse
    // margin left: refreshed only by the half-life rule), latest first: a refresh moves a token's key
    // later, behind this walk's cursor, so it is never met again (TikTok: 2 h tokens under a 12 h
    // window would otherwise come up again, costing an index read each). It gets half the budget at
    // most. Then the urgent ones, earliest first; their new keys land in the range already walked.
    const nowMs = opts.now()
    const untilMs = nowMs + queryHorizonMs(rules)
    const urgentUntilMs = Math.min(untilMs, nowMs + opts.lapseMarginMs)
    const laterHalfEnd = t0 + opts.runBudgetMs / 2
    // A token refreshed by this run whose new expiry still falls inside the window (TikTok: 2 h
    // tokens, 12 h window) moves ahead of the paginated query's cursor and comes up again: it is
    // known to be fresh, so it is passed over without a read. Only such tokens are remembered, and
    // the few in flight: a page read between a token's write and its entry into `rewritten` would
    // otherwise hand it to a second lane (regression: run.test.ts half-life, one key per page).
    const rewritten = new Set<string>()
    const inFlight = new Set<string>()
    const passOver = (key: DueKey): boolean => rewritten.delete(key.userId) || inFlight.has(key.userId)
    const pageSize = opts.pageSize ?? 100
    const pages = concatPages(
      untilLate(opts.store.queryDue(platform.name, untilMs, pageSize, { afterMs: urgentUntilMs, descending: true }), laterHalfEnd),
      opts.store.queryDue(platform.name, urgentUntilMs, pageSize)
    )
    const keys = withItems(opts.store, pages, passOver)
    const { stopped } = await forEachConcurrent(keys, 3 * platform.config.refreshConcurrency, async ({ key, known }) => {
      tally.due += 1
      inFlight.add(key.userId)
      try {
        const result = await refreshOne(ctx, platform, key, `${opts.runId}:${++claimSeq}`, known)
        const newDueAtMs = result.record?.dueAtMs
        if (result.outcome === 'refreshed' && newDueAtMs !== undefined && newDueAtMs > key.dueAtMs && newDueAtMs <= untilMs) rewritten.add(key.userId)
        countOutcome(tally, result.outcome)
        if (result.errorCode !== undefined) errorCodes[result.errorCode] = (errorCodes[result.errorCode] ?? 0) + 1
      } catch (err) {
        if (err instanceof StoreUnavailableError) {
          // The store is gone: stop everywhere. Nothing is marked needs_reauth; claims lapse on their own.
          stopReason ??= err.code
          tally.failed += 1
          errorCodes[err.code] = (errorCodes[err.code] ?? 0) + 1
          throw err
        }
        tally.failed += 1
        errorCodes[RUN_ERRORS.internal] = (errorCodes[RUN_ERRORS.internal] ?? 0) + 1
        opts.log.error({ platform: key.platform, userId: key.userId, errorName: err instanceof Error ? err.name : typeof err }, 'token refresh crashed')
      } finally {
        inFlight.delete(key.userId)
      }
    }, shouldStop)
    if (stopped) partial = true
  }

  function progress (done: boolean): RunSummary {
    const finishedAtMs = opts.now()
    return {
      runId: opts.runId,
      done,
      partial,
      startedAtMs,
      finishedAtMs,
      durationMs: Math.round(performance.now() - t0),
      ...totals(tallies),
      results: tallies.map((t) => ({ ...t })),
      errorCodes: { ...errorCodes },
      ...(stopReason === undefined ? {} : { error: stopReason })
    }
  }

  // A span per run: each token's refresh is a child of it (refresh-one.ts); its counts at the end.
  const finished = withSpan('refresh.run', { 'refresh.run_id': opts.runId }, async (span) => {
    const summary = await runAll()
    span.setAttributes({ 'refresh.refreshed': summary.refreshed, 'refresh.failed': summary.failed, 'refresh.needs_reauth': summary.needsReauth, 'refresh.partial': summary.partial, 'refresh.error': summary.error })
    return summary
  })

  async function runAll (): Promise<RunSummary> {
    const outcomes = await Promise.allSettled(opts.platforms.map((p, i) => runPlatform(p, tallies[i] ?? emptyTally(p.name, false))))
    for (const o of outcomes) {
      if (o.status === 'rejected' && !(o.reason instanceof StoreUnavailableError)) {
        stopReason ??= RUN_ERRORS.internal
        opts.log.error({ errorName: o.reason instanceof Error ? o.reason.name : typeof o.reason }, 'refresh run failed')
      }
    }
    if (stopReason !== undefined) partial = true
    return progress(true)
  }

  return { runId: opts.runId, progress: () => progress(false), finished }
}

/** The pages of a source until the monotonic clock passes `endMs` (checked between pages). */
async function * untilLate<T> (pages: AsyncGenerator<T>, endMs: number): AsyncGenerator<T> {
  for await (const page of pages) {
    yield page
    if (performance.now() >= endMs) return
  }
}

async function * concatPages<T> (...sources: Array<AsyncIterable<T>>): AsyncGenerator<T> {
  for (const source of sources) yield * source
}

/**
 * Pages of due keys → keys with their items, read consistently one page at a time (one BatchGetItem
 * per page instead of one GetItem per key), so the workers pull one key at a time, pages are read on
 * demand, and at most a page of items waits in memory. A key the batch left unread is read alone.
 */
async function * withItems (
  store: TokenStore, pages: AsyncIterable<DueKey[]>, passOver: (key: DueKey) => boolean
): AsyncGenerator<{ key: DueKey, known?: { record: TokenRecord | undefined } }> {
  for await (const page of pages) {
    const keys = page.filter((key) => !passOver(key))
    if (keys.length === 0) continue
    const read = await store.getMany(keys)
    for (const key of keys) {
      const id = tokenKeyId(key)
      yield read.has(id) ? { key, known: { record: read.get(id) } } : { key }
    }
  }
}
