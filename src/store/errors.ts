// Typed store failures. A DynamoDB error is reported by its name only: SDK messages can quote
// request details, and nothing from a request belongs in a log line or a response.
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
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

/** A TransactWriteItems refused as a whole; `CancellationReasons[i]` says why, item by item. */
function isTransactionCanceled (err: unknown): err is Error & { CancellationReasons?: Array<{ Code?: string, Item?: Record<string, unknown> }> } {
  return err instanceof Error && err.name === 'TransactionCanceledException'
}

/**
 * The item a cancelled transaction's failed condition saw (index `i`), as plain values, or undefined.
 * Only a ConditionalCheckFailed reason counts: a TransactionConflict (another transaction on the same
 * item) is an outcome to retry, not a lost condition.
 */
export function canceledConditionItem (err: unknown, i: number): { failed: boolean, item?: Record<string, unknown> } {
  if (!isTransactionCanceled(err)) return { failed: false }
  const reason = err.CancellationReasons?.[i]
  if (reason?.Code !== 'ConditionalCheckFailed') return { failed: false }
  const raw = reason.Item
  if (raw === undefined) return { failed: true }
  const values = Object.values(raw)
  return { failed: true, item: values.length > 0 && values.every(isAttributeValue) ? unmarshall(raw as Record<string, AttributeValue>, { wrapNumbers: false }) : raw }
}

const ATTRIBUTE_VALUE_TYPES = new Set(['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'])

function isAttributeValue (value: unknown): value is AttributeValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const keys = Object.keys(value)
  return keys.length === 1 && ATTRIBUTE_VALUE_TYPES.has(keys[0] ?? '')
}

/**
 * The item a failed condition saw (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`), as plain values.
 * The DocumentClient unmarshalls responses but NOT this error field (lib-dynamodb 3.x leaves it as
 * `{ S: … }`, measured on DynamoDB Local): read `err.Item` only through here. Already plain items pass
 * through, so this stays right if a later SDK unmarshalls it. Undefined when the item did not exist.
 */
export function conditionFailedItem (err: unknown): Record<string, unknown> | undefined {
  if (!isConditionalCheckFailed(err) || err.Item === undefined) return undefined
  const values = Object.values(err.Item)
  if (values.length > 0 && values.every(isAttributeValue)) {
    return unmarshall(err.Item as Record<string, AttributeValue>, { wrapNumbers: false })
  }
  return err.Item
}

/** Runs one DynamoDB call, turning anything but a conditional-check failure into StoreUnavailableError. */
export async function storeCall<T> (operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (isConditionalCheckFailed(err) || isTransactionCanceled(err)) throw err
    throw new StoreUnavailableError(operation, err)
  }
}
