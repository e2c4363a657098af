// The fleet-wide provider budget's interface: every call made with a platform's client id asks it for
// room first, and every provider answer is shown to it so a push-back (429, Reddit's reset headers)
// pauses the platform on every instance. The implementation keeps its state in DynamoDB, never in one
// process (docs/scale.md).

/** Calls made on use (internal route, proxy, connect, disconnect) come before the cron's. */
export type CallPriority = 'on_use' | 'cron'

export type BudgetDecision =
  | { readonly ok: true }
  | {
    readonly ok: false
    /** paused: the provider asked us to stop; no_room: the cap (or the cron's share) is spent. */
    readonly reason: 'paused' | 'no_room'
    /** When to try again (the answer's Retry-After). */
    readonly retryAfterMs: number
  }

export interface ProviderBudget {
  /** Waits up to `waitMs` for room in the platform's budget. Throws StoreUnavailableError when the store cannot be asked. */
  take (platform: string, priority: CallPriority, options?: { readonly waitMs?: number | undefined, readonly signal?: AbortSignal | undefined }): Promise<BudgetDecision>
  /** Records a provider's push-back as a pause of the platform for the whole fleet. */
  observe (platform: string, answer: { readonly status: number, readonly headers: Headers }): Promise<void>
}
