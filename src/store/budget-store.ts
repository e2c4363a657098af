// The provider budget's DynamoDB calls (parameters in budget-params.ts). What to ask, and what an
// answer means for a call, is decided in src/budget/fleet-budget.ts.
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionalWrite } from './dynamodb-calls.js'
import { storeCall } from './errors.js'
import { getBudgetParams, pauseParams, snapshotOf, takeParams, type BudgetSnapshot, type TakeInput } from './budget-params.js'

export type CountResult =
  | { readonly counted: true, readonly snapshot: BudgetSnapshot }
  | { readonly counted: false, readonly snapshot: BudgetSnapshot }

export interface BudgetStore {
  read (platform: string, consistent: boolean): Promise<BudgetSnapshot>
  /** Counts one call if the condition holds; else the item as it is (ALL_OLD) to decide again. */
  count (input: TakeInput): Promise<CountResult>
  /** False when a pause at least as long was already recorded. */
  pause (platform: string, untilMs: number, nowMs: number): Promise<boolean>
}

export interface BudgetStoreOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  /**
   * Told the capacity units of each budget call (ReturnConsumedCapacity: TOTAL), for the benchmark.
   * A failed condition's answer carries none: AWS bills it as a write of the item's size (1 unit here).
   */
  readonly onUnits?: ((units: number) => void) | undefined
}

export function createBudgetStore ({ doc, table, onUnits }: BudgetStoreOptions): BudgetStore {
  const capacity = onUnits === undefined ? {} : { ReturnConsumedCapacity: 'TOTAL' as const }
  const units = (consumed: { CapacityUnits?: number | undefined } | undefined, fallback: number): void => {
    onUnits?.(consumed?.CapacityUnits ?? fallback)
  }
  return {
    async read (platform, consistent) {
      const out = await storeCall('GetItem', () => doc.send(new GetCommand({ ...getBudgetParams(table, platform, consistent), ...capacity })))
      units(out.ConsumedCapacity, consistent ? 1 : 0.5)
      return snapshotOf(out.Item)
    },

    async count (input) {
      const write = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand({ ...takeParams(table, input), ...capacity })))
      if (!write.applied) {
        units(undefined, 1)
        return { counted: false, snapshot: snapshotOf(write.item) }
      }
      units(write.output.ConsumedCapacity, 1)
      return { counted: true, snapshot: snapshotOf(write.output.Attributes) }
    },

    async pause (platform, untilMs, nowMs) {
      const write = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand({ ...pauseParams(table, platform, untilMs, nowMs), ...capacity })))
      units(write.applied ? write.output.ConsumedCapacity : undefined, 1)
      return write.applied
    }
  }
}
