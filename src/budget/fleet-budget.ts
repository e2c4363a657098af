// The fleet-wide provider budget on DynamoDB: each call counted in fixed buckets of one item per
// platform with a conditional write (budget-params.ts says how the condition holds the cap), the cron
// kept to its share, and a provider's push-back recorded as a pause every instance obeys.
// docs/scale.md gives the sizing and the measured cost (one write unit per call).
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { BUDGET_ATTR, EMPTY_SNAPSHOT, type BudgetSnapshot } from '../store/budget-params.js'
import type { BudgetStore } from '../store/budget-store.js'
import type { BudgetDecision, CallPriority, ProviderBudget } from './provider-budget.js'
import { pushBackMs } from './push-back.js'

export interface PlatformCaps {
  /** Calls a minute for the whole fleet; undefined: no cap (the pause still applies). */
  readonly perMinute?: number | undefined
  /** The cron's share of it. */
  readonly cronPerMinute?: number | undefined
}

export interface BudgetLogger {
  warn (obj: object, msg: string): void
}

export interface FleetBudgetOptions {
  readonly store: BudgetStore
  readonly caps: (platform: string) => PlatformCaps
  /** Wall clock (epoch ms): buckets and pauses are instants every instance compares. */
  readonly now: () => number
  readonly log: BudgetLogger
  /** Bucket width. Smaller buckets waste less of the cap and cost a longer condition. */
  readonly bucketMs?: number | undefined
  /**
   * How far apart two instances' clocks (plus the spread of provider latencies) may be while the cap
   * still holds exactly: the window the condition reads is widened by this on both sides.
   */
  readonly skewToleranceMs?: number | undefined
  /** Uncapped platforms: how long an instance trusts the pause it last read (see pauseOf). */
  readonly pauseCacheMs?: number | undefined
}

export const BUDGET_DEFAULTS = { bucketMs: 2_000, skewToleranceMs: 2_000, pauseCacheMs: 1_000 } as const

const WINDOW_MS = 60_000
/** Conditional writes lost to another writer's stale view, in a row, before a call gives up (as no room). */
const MAX_TRIES = 6

export interface FleetBudget extends ProviderBudget {
  /** The window in buckets: `past` before the current one, `ahead` after it (for sizing and tests). */
  readonly span: { readonly past: number, readonly ahead: number, readonly bucketMs: number }
}

export function createFleetBudget (opts: FleetBudgetOptions): FleetBudget {
  const bucketMs = opts.bucketMs ?? BUDGET_DEFAULTS.bucketMs
  const skewMs = opts.skewToleranceMs ?? BUDGET_DEFAULTS.skewToleranceMs
  const pauseCacheMs = opts.pauseCacheMs ?? BUDGET_DEFAULTS.pauseCacheMs
  // A provider's 60 s window holds calls whose labels (an instance's clock at admission) span
  // 60 s + 2 × skew: the condition reads that many buckets around the current one.
  const past = Math.ceil((WINDOW_MS + 2 * skewMs) / bucketMs)
  const ahead = Math.ceil((2 * skewMs) / bucketMs)
  // What this instance last saw of each platform's item. Only a guess that saves a read: every
  // write states it in its condition, so a view made stale by another instance fails there and is
  // replaced by the item as DynamoDB holds it. Nothing is decided on it alone except "no room", which
  // counts that only grow can only confirm, and a pause, which only ever grows.
  const views = new Map<string, BudgetSnapshot>()
  // Uncapped platforms: the pause as read, and when (monotonic). Two instances each re-read it at
  // least every pauseCacheMs, so a pause one of them records stops the other within that time.
  const pauses = new Map<string, { readonly untilMs: number, readonly readAt: number }>()
  // One write at a time per platform from this process: its callers then decide on the view the
  // last write returned (a full bucket refuses them with no write at all) instead of racing each
  // other on the item. Across instances the condition arbitrates; this only orders our own.
  const queues = new Map<string, Promise<unknown>>()
  const serial = async <T>(platform: string, fn: () => Promise<T>): Promise<T> => {
    const before = queues.get(platform) ?? Promise.resolve()
    const mine = before.then(fn, fn)
    const tail = mine.catch(() => {})
    queues.set(platform, tail)
    try {
      return await mine
    } finally {
      if (queues.get(platform) === tail) queues.delete(platform)
    }
  }

  const sumOf = (counts: ReadonlyMap<number, number>, buckets: readonly number[]): number =>
    buckets.reduce((sum, b) => sum + (counts.get(b) ?? 0), 0)

  /** When the oldest counted bucket of the window leaves it (room for at least one call). */
  function roomAtMs (counts: ReadonlyMap<number, number>, window: readonly number[], nowMs: number): number {
    const oldest = window.find((b) => (counts.get(b) ?? 0) > 0) ?? window[0] ?? 0
    return Math.max(bucketMs / 4, (oldest + past + 1) * bucketMs - nowMs)
  }

  async function pauseOf (platform: string, nowMs: number): Promise<number> {
    const cached = pauses.get(platform)
    if (cached !== undefined && performance.now() - cached.readAt < pauseCacheMs) return cached.untilMs
    const view = await opts.store.read(platform, false)
    pauses.set(platform, { untilMs: view.pausedUntilMs, readAt: performance.now() })
    return view.pausedUntilMs > nowMs ? view.pausedUntilMs : 0
  }

  async function attempt (platform: string, priority: CallPriority): Promise<BudgetDecision> {
    const caps = opts.caps(platform)
    if (caps.perMinute === undefined) {
      const nowMs = opts.now()
      const untilMs = await pauseOf(platform, nowMs)
      return untilMs > nowMs ? { ok: false, reason: 'paused', retryAfterMs: untilMs - nowMs } : { ok: true }
    }
    const cronCap = priority === 'cron' ? (caps.cronPerMinute ?? Math.floor(caps.perMinute / 2)) : undefined
    let view = views.get(platform) ?? EMPTY_SNAPSHOT
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const nowMs = opts.now()
      if (view.pausedUntilMs > nowMs) return { ok: false, reason: 'paused', retryAfterMs: view.pausedUntilMs - nowMs }
      const bucket = Math.floor(nowMs / bucketMs)
      const window = Array.from({ length: past + ahead + 1 }, (_, i) => bucket - past + i)
      const others = window.filter((b) => b !== bucket)
      const limit = caps.perMinute - sumOf(view.all, others)
      if ((view.all.get(bucket) ?? 0) >= limit) return { ok: false, reason: 'no_room', retryAfterMs: roomAtMs(view.all, window, nowMs) }
      const cronLimit = cronCap === undefined ? undefined : cronCap - sumOf(view.cron, others)
      if (cronLimit !== undefined && (view.cron.get(bucket) ?? 0) >= cronLimit) {
        return { ok: false, reason: 'no_room', retryAfterMs: roomAtMs(view.cron, window, nowMs) }
      }
      const keepFrom = bucket - past - ahead - 2
      const stale = [...[...view.all.keys()].map((b) => [BUDGET_ATTR.allPrefix, b] as const), ...[...view.cron.keys()].map((b) => [BUDGET_ATTR.cronPrefix, b] as const)]
        .filter(([, b]) => b < keepFrom).map(([prefix, b]) => `${prefix}${b}`)
      const pairs = (counts: ReadonlyMap<number, number>): Array<[number, number]> => others.map((b) => [b, counts.get(b) ?? 0])
      const result = await opts.store.count({
        platform,
        nowMs,
        bucket,
        others: pairs(view.all),
        limit,
        cron: cronLimit === undefined ? undefined : { others: pairs(view.cron), limit: cronLimit },
        stale
      })
      view = result.snapshot
      views.set(platform, view)
      if (result.counted) return { ok: true }
    }
    // Lost to other writers' changing views every time: busy, not refused; the caller defers.
    return { ok: false, reason: 'no_room', retryAfterMs: bucketMs }
  }

  return {
    span: { past, ahead, bucketMs },

    async take (platform, priority, options = {}) {
      const waitMs = options.waitMs ?? 0
      const startedAt = performance.now()
      for (;;) {
        const decision = await serial(platform, async () => await attempt(platform, priority))
        if (decision.ok) return decision
        const leftMs = waitMs - (performance.now() - startedAt)
        if (decision.retryAfterMs > leftMs || options.signal?.aborted === true) return decision
        try {
          await sleep(decision.retryAfterMs, undefined, options.signal === undefined ? {} : { signal: options.signal })
        } catch {
          return decision
        }
      }
    },

    async observe (platform, answer) {
      const nowMs = opts.now()
      const pauseMs = pushBackMs(answer, nowMs)
      if (pauseMs === undefined) return
      const untilMs = nowMs + pauseMs
      // This instance stops at once, whatever the write does.
      const view = views.get(platform) ?? EMPTY_SNAPSHOT
      if (view.pausedUntilMs < untilMs) views.set(platform, { ...view, pausedUntilMs: untilMs })
      pauses.set(platform, { untilMs: Math.max(untilMs, pauses.get(platform)?.untilMs ?? 0), readAt: performance.now() })
      opts.log.warn({ platform, status: answer.status, pauseMs }, 'provider pushed back: platform paused for the fleet')
      await opts.store.pause(platform, untilMs, nowMs)
    }
  }
}
