// How the store's modules call DynamoDB: the conditional write whose lost condition is an answer, the
// paged Query, and the attribute-name map every expression goes through. The token store, the lock,
// the OAuth states and the webhook outbox all send through here, so each of these is written once.
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb'
import { canceledConditionItem, conditionFailedItem, isConditionalCheckFailed, storeCall, StoreUnavailableError } from './errors.js'

/** Every attribute goes through ExpressionAttributeNames (`#name`), so reserved words never bite. */
export function attributeNames (...attrs: string[]): Record<string, string> {
  return Object.fromEntries(attrs.map((a) => [`#${a}`, a]))
}

/**
 * A conditional write's answer. `applied: false` is a lost condition (another writer, a lease that ran
 * out), not a failure: `item` is what the condition saw (`ReturnValuesOnConditionCheckFailure:
 * 'ALL_OLD'`, or the cancellation reason's item in a transaction), undefined when there was no item.
 */
export type ConditionalWrite<T> =
  | { readonly applied: true, readonly output: T }
  | { readonly applied: false, readonly item: Record<string, unknown> | undefined }

/**
 * Sends one conditional write. Its condition failing is returned typed: a ConditionalCheckFailedException,
 * or a cancelled TransactWriteItems whose item 0 (the state change; the items after it are the event
 * puts that ride along) failed its condition. Anything else, a transaction cancelled for another
 * reason (a conflict, throttling) included, is a StoreUnavailableError carrying the SDK error as cause.
 */
export async function conditionalWrite<T> (operation: string, send: () => Promise<T>): Promise<ConditionalWrite<T>> {
  try {
    return { applied: true, output: await storeCall(operation, send) }
  } catch (err) {
    const lost = lostCondition(err)
    if (lost === undefined) throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(operation, err)
    return { applied: false, item: lost.item }
  }
}

/** The item a lost condition saw, or undefined when `err` is not a lost condition. */
function lostCondition (err: unknown): { readonly item: Record<string, unknown> | undefined } | undefined {
  if (isConditionalCheckFailed(err)) return { item: conditionFailedItem(err) }
  const canceled = canceledConditionItem(err, 0)
  return canceled.failed ? { item: canceled.item } : undefined
}

/**
 * A Query, page after page, as the caller reads them: stop reading (break) and no further page is
 * asked for. `params` is one page's request; each next page starts after the last one's last key.
 */
export async function * queryPages (doc: DynamoDBDocumentClient, params: QueryCommandInput): AsyncGenerator<QueryCommandOutput> {
  let startKey: Record<string, unknown> | undefined
  do {
    const request: QueryCommandInput = startKey === undefined ? params : { ...params, ExclusiveStartKey: startKey }
    const page = await storeCall('Query', () => doc.send(new QueryCommand(request)))
    yield page
    startKey = page.LastEvaluatedKey
  } while (startKey !== undefined)
}
