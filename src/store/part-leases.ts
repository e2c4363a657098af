// The leases of a pass in parts (parameters in part-lease-params.ts): open a pass's parts, take one,
// renew it while working, complete it with its summary, list them. The pass itself stays under the
// cron lock (lock.ts), which keeps the summary of the whole pass.
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { conditionalWrite, queryPages } from './dynamodb-calls.js'
import { storeCall } from './errors.js'
import {
  completePartParams, listPartsParams, openPartParams, PART_ATTR, renewPartParams, takePartParams, type PartState
} from './part-lease-params.js'

export interface PartRecord {
  readonly passId: string
  readonly index: number
  readonly count: number
  readonly state: PartState
  readonly holder: string | null
  readonly leaseUntilMs: number
  readonly deadlineAtMs: number
  /** How many times the part was taken (more than once: a holder died or stalled). */
  readonly takenCount: number
  readonly summary: Record<string, unknown> | null
}

export interface PartLeases {
  readonly leaseMs: number
  open (passId: string, count: number, deadlineAtMs: number): Promise<void>
  take (passId: string, index: number, holder: string): Promise<boolean>
  renew (passId: string, index: number, holder: string): Promise<boolean>
  complete (passId: string, index: number, holder: string, summary: Record<string, unknown>): Promise<boolean>
  list (consistent: boolean): Promise<PartRecord[]>
}

const num = (v: unknown): number => typeof v === 'number' ? v : 0

function recordOf (item: Record<string, unknown>): PartRecord {
  const summary = item[PART_ATTR.summary]
  return {
    passId: String(item[PART_ATTR.passId] ?? ''),
    index: num(item[PART_ATTR.index]),
    count: num(item[PART_ATTR.count]),
    state: item[PART_ATTR.state] as PartState,
    holder: typeof item[PART_ATTR.holder] === 'string' ? item[PART_ATTR.holder] as string : null,
    leaseUntilMs: num(item[PART_ATTR.leaseUntilMs]),
    deadlineAtMs: num(item[PART_ATTR.deadlineAtMs]),
    takenCount: num(item[PART_ATTR.takenCount]),
    summary: typeof summary === 'object' && summary !== null ? summary as Record<string, unknown> : null
  }
}

export function createPartLeases (opts: { readonly doc: DynamoDBDocumentClient, readonly table: string, readonly leaseMs: number, readonly now: () => number }): PartLeases {
  const { doc, table, leaseMs, now } = opts
  const conditional = async (operation: () => Promise<unknown>): Promise<boolean> => (await conditionalWrite('UpdateItem', operation)).applied
  return {
    leaseMs,
    async open (passId, count, deadlineAtMs) {
      await Promise.all(Array.from({ length: count }, async (_, i) => {
        await storeCall('PutItem', () => doc.send(new PutCommand(openPartParams(table, passId, i, count, deadlineAtMs))))
      }))
    },
    take: async (passId, index, holder) => await conditional(() => doc.send(new UpdateCommand(takePartParams(table, passId, index, holder, now(), leaseMs)))),
    renew: async (passId, index, holder) => await conditional(() => doc.send(new UpdateCommand(renewPartParams(table, passId, index, holder, now() + leaseMs)))),
    complete: async (passId, index, holder, summary) => await conditional(() => doc.send(new UpdateCommand(completePartParams(table, passId, index, holder, summary)))),
    async list (consistent) {
      const parts: PartRecord[] = []
      for await (const page of queryPages(doc, listPartsParams(table, consistent))) parts.push(...(page.Items ?? []).map(recordOf))
      return parts
    }
  }
}
