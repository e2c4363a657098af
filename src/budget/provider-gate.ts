// The budget at the one funnel every provider call passes (platforms/provider-http.ts): each call
// of a platform's client id is counted before it leaves, and each answer is shown to the budget. The
// caller's priority comes from its budget scope (the cron's run sets one); anything else is a call on use.
import { ProviderRefusedError, REFUSAL_REASONS, type ProviderGate } from '../platforms/provider-http.js'
import { currentBudgetScope } from './budget-scope.js'
import type { BudgetLogger } from './fleet-budget.js'
import type { ProviderBudget } from './provider-budget.js'

export interface ProviderGateOptions {
  /** PROVIDER_BUDGET_WAIT_MS: how long a call on use may wait for room. The cron never waits. */
  readonly onUseWaitMs: number
  readonly log: BudgetLogger
}

export function createProviderGate (budget: ProviderBudget, platform: string, opts: ProviderGateOptions): ProviderGate {
  return {
    async enter (signal) {
      const scope = currentBudgetScope()
      if (scope !== undefined && scope.prepaid > 0) {
        scope.prepaid -= 1
        return
      }
      const priority = scope?.priority ?? 'on_use'
      const waitMs = scope?.waitMs ?? (priority === 'cron' ? 0 : opts.onUseWaitMs)
      let decision
      try {
        decision = await budget.take(platform, priority, { waitMs, signal })
      } catch (err) {
        // The budget cannot be asked: no call leaves uncounted.
        throw new ProviderRefusedError(REFUSAL_REASONS.budgetUnavailable, 0, err)
      }
      if (!decision.ok) throw new ProviderRefusedError(decision.reason, decision.retryAfterMs)
    },

    async leave (answer) {
      try {
        await budget.observe(platform, answer)
      } catch (err) {
        // This instance has paused itself already (observe does that first); the others learn of
        // the pause from the provider's next answer to them.
        opts.log.warn({ platform, errorName: err instanceof Error ? err.name : typeof err }, 'provider pause not recorded in the store')
      }
    }
  }
}
