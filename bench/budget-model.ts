// The fleet's provider budget (src/budget/fleet-budget.ts) on the simulator's virtual clock: one
// counter for the whole fleet, whatever the number of runners, as the DynamoDB item is. Same window
// (the buckets the condition reads: 60 s plus the clock tolerance on both sides), same cron share.
import { BUDGET_DEFAULTS } from '../src/budget/fleet-budget.js'
import type { CallPriority } from '../src/budget/provider-budget.js'

export interface BudgetModel {
  /** A call now, or none (the run defers; a call on use would have waited up to its wait). */
  take (priority: CallPriority, nowMs: number): boolean
  /** Conditional writes the budget made (each 1 WRU: a refused condition is billed as a write). */
  readonly writes: number
  /** The most calls granted in any 60 s (sampled per second). */
  readonly peakPerMinute: number
}

export function createBudgetModel (perMinute: number, cronPerMinute: number): BudgetModel {
  const { bucketMs, skewToleranceMs } = BUDGET_DEFAULTS
  const past = Math.ceil((60_000 + 2 * skewToleranceMs) / bucketMs)
  const ahead = Math.ceil((2 * skewToleranceMs) / bucketMs)
  const all = new Map<number, number>()
  const cron = new Map<number, number>()
  const calls: number[] = []
  let writes = 0
  let peak = 0
  const sum = (m: Map<number, number>, from: number, to: number): number => {
    let s = 0
    for (let b = from; b <= to; b++) s += m.get(b) ?? 0
    return s
  }
  return {
    take (priority, nowMs) {
      const b = Math.floor(nowMs / bucketMs)
      if (sum(all, b - past, b + ahead) >= perMinute) return false
      if (priority === 'cron' && sum(cron, b - past, b + ahead) >= cronPerMinute) return false
      writes++
      all.set(b, (all.get(b) ?? 0) + 1)
      if (priority === 'cron') cron.set(b, (cron.get(b) ?? 0) + 1)
      all.delete(b - past - ahead - 3)
      cron.delete(b - past - ahead - 3)
      calls.push(nowMs)
      while ((calls[0] ?? nowMs) <= nowMs - 60_000) calls.shift()
      peak = Math.max(peak, calls.length)
      return true
    },
    get writes () { return writes },
    get peakPerMinute () { return peak }
  }
}
