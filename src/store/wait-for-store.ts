// Start-up against a store that is still starting (DynamoDB Local in compose, whose container is up
// seconds before it listens): the first call is tried again with backoff until STORE_WAIT_MS has
// passed, with one log line per failed attempt, then a clear error. An answer that is not about
// reaching the store (a refusal, a bad table definition) fails at once: waiting would not change it.

export interface StoreWaitAttempt {
  readonly attempt: number
  /** When the next attempt starts. */
  readonly retryInMs: number
  /** The failure, in one line (no stack: the final error carries one). */
  readonly error: string
}

export interface StoreWaitOptions {
  /** How long to keep trying, from the first attempt (0: one attempt only). */
  readonly waitMs: number
  readonly onRetry: (attempt: StoreWaitAttempt) => void
  /** Aborted (a SIGTERM during start-up): no further attempt; the wait throws the abort reason. */
  readonly signal?: AbortSignal | undefined
  readonly firstDelayMs?: number
  readonly maxDelayMs?: number
}

export class StoreWaitError extends Error {
  readonly attempts: number
  constructor (message: string, attempts: number, options: ErrorOptions) {
    super(message, options)
    this.name = 'StoreWaitError'
    this.attempts = attempts
  }
}

/** Connection-level failures: the store is not there (yet), as opposed to a store that answered. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET'])

export function isUnreachable (err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, name, errors, $metadata } = err as { code?: unknown, name?: unknown, errors?: unknown, $metadata?: { httpStatusCode?: number } }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true
  if (name === 'TimeoutError') return true
  // Node reports a refused dual-stack connect as an AggregateError of one refusal per address.
  if (Array.isArray(errors) && errors.some(isUnreachable)) return true
  // A store still booting may answer 5xx before it serves.
  return ($metadata?.httpStatusCode ?? 0) >= 500
}

/** One line for a failure: its name, code and message (an AggregateError's message is empty). */
export function describeFailure (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const { code, errors } = err as Error & { code?: unknown, errors?: unknown }
  const inner = Array.isArray(errors) ? errors.map(describeFailure).join('; ') : ''
  return [err.name, typeof code === 'string' ? code : '', err.message !== '' ? err.message : inner].filter((s) => s !== '').join(': ')
}

export async function waitForStore<T> (call: () => Promise<T>, opts: StoreWaitOptions): Promise<T> {
  const started = performance.now()
  let delayMs = opts.firstDelayMs ?? 250
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted()
    try {
      return await call()
    } catch (err) {
      if (!isUnreachable(err)) throw err
      const leftMs = opts.waitMs - (performance.now() - started)
      if (leftMs <= 0) {
        throw new StoreWaitError(`the store did not answer within STORE_WAIT_MS (${opts.waitMs} ms, ${attempt} attempts): ${describeFailure(err)}`, attempt, { cause: err })
      }
      const retryInMs = Math.min(delayMs, leftMs)
      opts.onRetry({ attempt, retryInMs: Math.round(retryInMs), error: describeFailure(err) })
      opts.signal?.throwIfAborted()
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, retryInMs)
        function done (): void {
          clearTimeout(timer)
          opts.signal?.removeEventListener('abort', done)
          resolve()
        }
        opts.signal?.addEventListener('abort', done, { once: true })
      })
      delayMs = Math.min(delayMs * 2, opts.maxDelayMs ?? 5_000)
    }
  }
}
