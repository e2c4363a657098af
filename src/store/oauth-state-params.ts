// Parameters of the OAuth state commands, built as data and sent by oauth-state.ts. A state item shares
// the tokens table: `userId = "oauth-state#<state>"`, `platform` = the platform, a `ttl` (epoch seconds)
// for DynamoDB's purge and NEVER an `expiresAt`, which would put it in that platform's byExpiry index.
import type { DeleteCommandInput, PutCommandInput } from '@aws-sdk/lib-dynamodb'
import { attributeNames } from './dynamodb-calls.js'

const STATE_KEY_PREFIX = 'oauth-state#'

export const STATE_ATTR = {
  userId: 'userId',
  platform: 'platform',
  ownerUserId: 'ownerUserId',
  bindingHash: 'bindingHash',
  codeVerifier: 'codeVerifierEnc',
  returnTo: 'returnTo',
  createdAtMs: 'createdAtMs',
  validUntilMs: 'validUntilMs',
  ttl: 'ttl'
} as const

export interface StateKey {
  readonly state: string
  readonly platform: string
}

export function stateItemKey (k: StateKey): Record<string, string> {
  return { [STATE_ATTR.userId]: `${STATE_KEY_PREFIX}${k.state}`, [STATE_ATTR.platform]: k.platform }
}

// A fresh random state never exists yet; the condition only turns an impossible collision into an error.
const ITEM_ABSENT = `attribute_not_exists(#${STATE_ATTR.userId})`

export function putStateParams (table: string, item: Record<string, unknown>): PutCommandInput {
  return {
    TableName: table,
    Item: item,
    ConditionExpression: ITEM_ABSENT,
    ExpressionAttributeNames: attributeNames(STATE_ATTR.userId)
  }
}

export interface ConsumeCondition {
  readonly bindingHash: string
  readonly nowMs: number
  /** The signed-in user at the callback, when there is one: the state must be theirs. */
  readonly ownerUserId?: string | undefined
}

// Started at t0, valid until t0 + 10 min. DynamoDB's TTL purge runs late (hours), so an item can still
// be there after validUntilMs: the condition, not the purge, decides. The key carries the platform: a
// TikTok state presented at the Reddit callback names an item that does not exist (mix-up defence).
const STATE_EXISTS = `attribute_exists(#${STATE_ATTR.userId})`
const NOT_EXPIRED = `#${STATE_ATTR.validUntilMs} > :nowMs`
// Login CSRF: the callback URL of a flow started in another browser lacks that browser's cookie.
const SAME_BROWSER = `#${STATE_ATTR.bindingHash} = :bindingHash`
const SAME_USER = `#${STATE_ATTR.ownerUserId} = :ownerUserId`

/** One conditional delete consumes the state: of two callbacks with the same state, one wins. */
export function consumeStateParams (table: string, k: StateKey, condition: ConsumeCondition): DeleteCommandInput {
  const clauses = [STATE_EXISTS, NOT_EXPIRED, SAME_BROWSER]
  const values: Record<string, unknown> = { ':nowMs': condition.nowMs, ':bindingHash': condition.bindingHash }
  if (condition.ownerUserId !== undefined) {
    clauses.push(SAME_USER)
    values[':ownerUserId'] = condition.ownerUserId
  }
  const attrs = [STATE_ATTR.userId, STATE_ATTR.validUntilMs, STATE_ATTR.bindingHash, ...(condition.ownerUserId === undefined ? [] : [STATE_ATTR.ownerUserId])]
  return {
    TableName: table,
    Key: stateItemKey(k),
    ConditionExpression: clauses.join(' AND '),
    ExpressionAttributeNames: attributeNames(...attrs),
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_OLD',
    // Says why a consume failed (for the log line's reason), without a second read.
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}
