// A pass in parts (REFRESH_PARTS > 1): each platform's due tokens split by a hash of the user id,
// each part under a lease of its own (store/part-leases.ts). The instance holding the cron lock
// opens the parts and works on them; every instance also looks for open parts on a timer
// (refresh-runner.ts) and takes them, so the fleet shares the pass without a scheduler or queue of its own.
// The parts' summaries add up into the pass's, which the lock holder writes to the lock item.
import { setTimeout as sleep } from 'node:timers/promises'
import type { PartLeases, PartRecord } from '../store/part-leases.js'
import { PART_STATES } from '../store/part-lease-params.js'
import type { RefreshLogger } from './refresh-one.js'
import type { Part } from './part-of.js'
import type { RunHandle } from './run.js'
import { decodeRunSummary, emptyTally, totals, type PlatformTally, type RunSummary } from './summary.js'

/** The summaries of a pass's parts as one: counts added, the pass partial if any part was. */
export function addSummaries (passId: string, startedAtMs: number, finishedAtMs: number, parts: readonly RunSummary[], complete: boolean): RunSummary {
  const byPlatform = new Map<string, PlatformTally>()
  const errorCodes: Record<string, number> = {}
  for (const part of parts) {
    for (const r of part.results) {
      const sum = byPlatform.get(r.platform) ?? emptyTally(r.platform, r.configured)
      byPlatform.set(r.platform, { ...sum, due: sum.due + r.due, refreshed: sum.refreshed + r.refreshed, failed: sum.failed + r.failed, needsReauth: sum.needsReauth + r.needsReauth, deferred: sum.deferred + r.deferred, skippedTokens: sum.skippedTokens + r.skippedTokens })
    }
    for (const [code, n] of Object.entries(part.errorCodes)) errorCodes[code] = (errorCodes[code] ?? 0) + n
  }
  const results = [...byPlatform.values()]
  const error = parts.find((p) => p.error !== undefined)?.error
  return {
    runId: passId,
    done: true,
    partial: !complete || parts.some((p) => p.partial),
    startedAtMs,
    finishedAtMs,
    durationMs: Math.max(0, finishedAtMs - startedAtMs),
    ...totals(results),
    results,
    errorCodes,
    ...(error === undefined ? {} : { error })
  }
}

export interface PartWorkerOptions {
  readonly leases: PartLeases
  /** This instance (a part's holder). */
  readonly holder: string
  readonly now: () => number
  readonly log: RefreshLogger
  /** Starts the run of one part with what is left of the pass's budget. */
  readonly runPart: (passId: string, part: Part, budgetMs: number) => RunHandle
}

export interface PartWorker {
  /** Takes and runs, one after another, every part it can take (of `passId`, else of the newest open pass). */
  work (passId?: string): Promise<void>
  /** The summed progress of the parts this instance ran or runs for `passId`. */
  progress (passId: string): RunSummary[]
}

export function createPartWorker (opts: PartWorkerOptions): PartWorker {
  const { leases, holder, log } = opts
  // This instance's own part runs, by pass: only for its progress report; the pass's summary is
  // read from the part items, which every instance writes.
  const mine = new Map<string, Map<number, RunHandle>>()

  const takeable = (p: PartRecord, nowMs: number): boolean => p.deadlineAtMs > nowMs &&
    (p.state === PART_STATES.open || (p.state === PART_STATES.taken && p.leaseUntilMs < nowMs))

  async function runOne (passId: string, part: Part, deadlineAtMs: number): Promise<void> {
    const handle = opts.runPart(passId, part, Math.max(0, deadlineAtMs - opts.now()))
    const runs = mine.get(passId) ?? new Map<number, RunHandle>()
    runs.set(part.index, handle)
    mine.set(passId, runs)
    // Renewed well inside the lease; a holder that stalls past it loses the part to another instance.
    const renewal = setInterval(() => {
      leases.renew(passId, part.index, holder).then((ok) => {
        if (!ok) log.warn({ passId, part: part.index }, 'part lease lost to another instance')
      }, () => {})
    }, Math.max(50, leases.leaseMs / 3))
    try {
      const summary = await handle.finished
      const completed = await leases.complete(passId, part.index, holder, { ...summary })
      log.info({ passId, part: part.index, refreshed: summary.refreshed, deferred: summary.deferred, completed }, 'refresh part finished')
    } finally {
      clearInterval(renewal)
    }
  }

  return {
    async work (passId) {
      for (;;) {
        const nowMs = opts.now()
        const parts = await leases.list(true)
        const pass = passId ?? parts.find((p) => takeable(p, nowMs))?.passId
        const next = parts.find((p) => p.passId === pass && takeable(p, nowMs))
        if (pass === undefined || next === undefined) return
        if (!(await leases.take(pass, next.index, holder))) continue
        log.info({ passId: pass, part: next.index, takenBefore: next.takenCount }, 'refresh part taken')
        await runOne(pass, { index: next.index, count: next.count }, next.deadlineAtMs)
      }
    },
    progress (passId) {
      return [...(mine.get(passId)?.values() ?? [])].map((h) => h.progress())
    }
  }
}

/**
 * The lock holder's side of a pass: open the parts, work on them, then wait for the other instances'
 * parts (taking again any whose lease ran out) until all are done or the pass's time is up.
 */
export async function runPass (
  worker: PartWorker, leases: PartLeases, opts: { readonly passId: string, readonly count: number, readonly runBudgetMs: number, readonly now: () => number, readonly pollMs: number, readonly signal?: AbortSignal | undefined }
): Promise<RunSummary> {
  const startedAtMs = opts.now()
  const deadlineAtMs = startedAtMs + opts.runBudgetMs
  await leases.open(opts.passId, opts.count, deadlineAtMs)
  let parts: PartRecord[] = []
  for (;;) {
    await worker.work(opts.passId)
    parts = (await leases.list(true)).filter((p) => p.passId === opts.passId)
    const allDone = parts.length === opts.count && parts.every((p) => p.state === PART_STATES.done)
    // Past the deadline, a part still out is given its lease's time to write its summary, no more.
    if (allDone || opts.now() > deadlineAtMs + leases.leaseMs || opts.signal?.aborted === true) break
    await sleep(opts.pollMs)
  }
  const summaries = parts.map((p) => decodeRunSummary(p.summary)).filter((s): s is RunSummary => s !== null)
  return addSummaries(opts.passId, startedAtMs, opts.now(), summaries, summaries.length === opts.count)
}
