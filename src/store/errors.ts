// Typed store failures. A DynamoDB error is reported by its name only: SDK messages can quote
// request details, and nothing from a request belongs in a log line or a response.
export const STORE_ERRORS = {
  unavailable: 'store_unavailable'
} as const

export class StoreUnavailableError extends Error {
  readonly code = STORE_ERRORS.unavailable
  constructor (operation: string, cause: unknown) {
    super(`DynamoDB ${operation} failed: ${errorName(cause)}`, { cause })
    this.name = 'StoreUnavailableError'
    // The SDK error can carry request metadata: keep it off JSON.stringify and pino's serialisers.
    Object.defineProperty(this, 'cause', { enumerable: false, value: cause })
  }
}

export function errorName (err: unknown): string {
  if (err instanceof Error) return err.name
  return typeof err
}

export function isConditionalCheckFailed (err: unknown): err is Error & { Item?: Record<string, unknown> } {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException'
}

/** Runs one DynamoDB call, turning anything but a conditional-check failure into StoreUnavailableError. */
export async function storeCall<T> (operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw err
    throw new StoreUnavailableError(operation, err)
  }
}
