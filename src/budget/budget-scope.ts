// Who is calling a provider, carried along the async call chain to the one HTTP funnel
// (platforms/provider-http.ts), so that every call counts in the budget without each call site
// passing it through the platform modules: the cron's calls run in a `cron` scope, everything else
// counts as a call on use. A call the caller already counted (refreshOne takes its slot before it
// claims the token) runs with `prepaid`, and the funnel does not count it twice.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { CallPriority } from './provider-budget.js'

export interface BudgetScope {
  readonly priority: CallPriority
  /** How long a call may wait for room; unset: the budget's default for its priority. */
  readonly waitMs?: number | undefined
  /** Calls already counted by the caller; the funnel spends these first. */
  prepaid: number
}

const storage = new AsyncLocalStorage<BudgetScope>()

export function runInBudgetScope<T> (scope: BudgetScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn)
}

export function currentBudgetScope (): BudgetScope | undefined {
  return storage.getStore()
}
