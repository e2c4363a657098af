// Parameters of the provider budget's commands, built as data (testable without a table), sent by
// budget-store.ts. One item per platform in the tokens table holds the fleet's call counts in fixed
// buckets and the platform's pause; it has no `expiresAt`, so it never enters the byExpiry index.
import type { GetCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb'

/** `budget#<platform>` is never a user (token-item.ts isUserKey refuses any `#`). */
export function budgetKey (platform: string): { readonly userId: string, readonly platform: string } {
  return { userId: `budget#${platform}`, platform: 'provider-budget' }
}

export const BUDGET_ATTR = {
  pausedUntilMs: 'pausedUntilMs',
  ttl: 'ttl',
  /** `n<bucket>`: every call counted in that bucket; `c<bucket>`: the cron's among them. */
  allPrefix: 'n',
  cronPrefix: 'c'
} as const

/** An idle platform's item is purged by the table's TTL a day after its last call. */
const ITEM_TTL_SEC = 24 * 3600

/** What an instance last saw of the item: bucket counts by index, the pause. */
export interface BudgetSnapshot {
  readonly all: ReadonlyMap<number, number>
  readonly cron: ReadonlyMap<number, number>
  readonly pausedUntilMs: number
}

export const EMPTY_SNAPSHOT: BudgetSnapshot = { all: new Map(), cron: new Map(), pausedUntilMs: 0 }

/** The item as plain values (a GetItem, an update's ALL_NEW, a failed condition's ALL_OLD) → snapshot. */
export function snapshotOf (item: Record<string, unknown> | undefined): BudgetSnapshot {
  if (item === undefined) return EMPTY_SNAPSHOT
  const all = new Map<number, number>()
  const cron = new Map<number, number>()
  for (const [name, value] of Object.entries(item)) {
    const match = /^([nc])(\d+)$/.exec(name)
    if (match === null || typeof value !== 'number') continue
    ;(match[1] === BUDGET_ATTR.allPrefix ? all : cron).set(Number(match[2]), value)
  }
  const paused = item[BUDGET_ATTR.pausedUntilMs]
  return { all, cron, pausedUntilMs: typeof paused === 'number' ? paused : 0 }
}

export function getBudgetParams (table: string, platform: string, consistent: boolean): GetCommandInput {
  return { TableName: table, Key: budgetKey(platform), ConsistentRead: consistent }
}

export interface TakeInput {
  readonly platform: string
  readonly nowMs: number
  /** The bucket being counted into (floor(now / bucketMs)). */
  readonly bucket: number
  /** Every other bucket of the window, as the snapshot saw it (0: absent). */
  readonly others: ReadonlyArray<readonly [number, number]>
  /** Calls the current bucket may still hold: cap − Σ others. */
  readonly limit: number
  /** The cron's share: its other buckets and its room in the current one; absent for calls on use. */
  readonly cron?: { readonly others: ReadonlyArray<readonly [number, number]>, readonly limit: number } | undefined
  /** Attributes far outside the window, dropped in the same write. */
  readonly stale: readonly string[]
}

/**
 * One call counted: ADD 1 to the current bucket, under a condition that reads the whole window in the
 * same request. DynamoDB conditions cannot add numbers up, so the writer states what it believes every
 * other bucket of the window holds (each `= :v`, or absent when 0) and the current bucket's room
 * (`< :limit`, limit = cap − Σ others). Writers that agree on the other buckets (the usual case: they
 * are closed) race only on the current one, and the condition lets exactly `limit` of them in. A writer
 * whose view is stale (an instance whose clock is off counted into a bucket we think closed or not yet
 * open) fails, gets the item back (ALL_OLD) and decides again. The pause is in the same condition.
 *
 * Timeline the condition guards (cap 100):
 *   t=0 s   A and B hold the same view: Σ others = 96 → limit 4 on the current bucket
 *   t=1 s   A, B, A, B each ADD 1 under `cur < 4`: four pass, a fifth fails
 *   t=2 s   B's clock lags 2 s: it counts into the previous bucket; A's next write (`prev = :v`)
 *           fails, A reads the new count in ALL_OLD, and the window never holds more than 100.
 */
export function takeParams (table: string, input: TakeInput): UpdateCommandInput {
  const names: Record<string, string> = { '#paused': BUDGET_ATTR.pausedUntilMs, '#ttl': BUDGET_ATTR.ttl }
  const values: Record<string, unknown> = { ':nowMs': input.nowMs, ':one': 1, ':ttl': Math.floor(input.nowMs / 1000) + ITEM_TTL_SEC }
  // Paused until a time already past, or never paused.
  const conditions = ['(attribute_not_exists(#paused) OR #paused <= :nowMs)']
  const adds: string[] = []
  const counter = (prefix: string, others: ReadonlyArray<readonly [number, number]>, limit: number): void => {
    others.forEach(([bucket, count], i) => {
      names[`#${prefix}${i}`] = `${prefix}${bucket}`
      if (count === 0) {
        conditions.push(`attribute_not_exists(#${prefix}${i})`)
      } else {
        values[`:${prefix}${i}`] = count
        conditions.push(`#${prefix}${i} = :${prefix}${i}`)
      }
    })
    names[`#${prefix}`] = `${prefix}${input.bucket}`
    values[`:${prefix}`] = limit
    conditions.push(`(attribute_not_exists(#${prefix}) OR #${prefix} < :${prefix})`)
    adds.push(`#${prefix} :one`)
  }
  counter(BUDGET_ATTR.allPrefix, input.others, input.limit)
  if (input.cron !== undefined) counter(BUDGET_ATTR.cronPrefix, input.cron.others, input.cron.limit)
  const removes = input.stale.map((attr, i) => {
    names[`#x${i}`] = attr
    return `#x${i}`
  })
  return {
    TableName: table,
    Key: budgetKey(input.platform),
    UpdateExpression: `ADD ${adds.join(', ')} SET #ttl = :ttl${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  }
}

/**
 * Pauses the platform until `untilMs` for every instance. A pause only ever grows: a shorter one
 * announced later (another answer, another instance) never cuts a longer one short.
 */
export function pauseParams (table: string, platform: string, untilMs: number, nowMs: number): UpdateCommandInput {
  return {
    TableName: table,
    Key: budgetKey(platform),
    UpdateExpression: 'SET #paused = :until, #ttl = :ttl',
    ConditionExpression: 'attribute_not_exists(#paused) OR #paused < :until',
    ExpressionAttributeNames: { '#paused': BUDGET_ATTR.pausedUntilMs, '#ttl': BUDGET_ATTR.ttl },
    ExpressionAttributeValues: { ':until': untilMs, ':ttl': Math.floor(Math.max(untilMs, nowMs) / 1000) + ITEM_TTL_SEC }
  }
}
