// Seeds due connections straight into the table with parallel BatchWriteItem (saveConnection's read
// then conditional put would take minutes for 100,000 items on DynamoDB Local). Items have the exact
// layout token-store.ts writes, tokens sealed by the service's own cipher.
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Cipher } from '../src/store/crypto.js'
import { ATTR, sealSecrets, TOKEN_STATUS } from '../src/store/token-item.js'

export interface SeedGrant { readonly at: string, readonly rt?: string | undefined }

export interface SeedOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly cipher: Cipher
  readonly platform: string
  readonly nowMs: number
  /** Access token lifetime and how much of it is left: due, and past half its life. */
  readonly lifetimeMs: number
  readonly remainingMs: number
  readonly parallel?: number
  /** User ids are `<prefix><i>` (default `bench-user-`): tokens that are not due get a prefix of their own. */
  readonly prefix?: string
}

export async function seedDue (grants: readonly SeedGrant[], opts: SeedOptions): Promise<void> {
  const items = (i: number): Record<string, unknown> => {
    const grant = grants[i] as SeedGrant
    const key = { userId: `${opts.prefix ?? 'bench-user-'}${i}`, platform: opts.platform }
    return {
      [ATTR.userId]: key.userId,
      [ATTR.platform]: key.platform,
      [ATTR.status]: TOKEN_STATUS.connected,
      [ATTR.version]: 1,
      [ATTR.accountId]: `acct-${i}`,
      [ATTR.username]: `user_${i}`,
      [ATTR.scopes]: ['user.info.basic'],
      // Spread over the window so the index is in expiry order, as in life.
      [ATTR.dueAt]: opts.nowMs + opts.remainingMs - (i % 1_000),
      [ATTR.issuedAtMs]: opts.nowMs + opts.remainingMs - opts.lifetimeMs,
      [ATTR.connectedAtMs]: opts.nowMs - 86_400_000,
      [ATTR.updatedAtMs]: opts.nowMs,
      [ATTR.attempts]: 0,
      ...sealSecrets(opts.cipher, key, { accessToken: grant.at, refreshToken: grant.rt })
    }
  }
  let next = 0
  const lane = async (): Promise<void> => {
    for (;;) {
      const start = next
      if (start >= grants.length) return
      next = Math.min(start + 25, grants.length)
      let requests: Array<{ PutRequest: { Item: Record<string, unknown> } }> = []
      for (let i = start; i < next; i++) requests.push({ PutRequest: { Item: items(i) } })
      for (let attempt = 0; requests.length > 0; attempt++) {
        const res = await opts.doc.send(new BatchWriteCommand({ RequestItems: { [opts.table]: requests } }))
        requests = (res.UnprocessedItems?.[opts.table] ?? []) as typeof requests
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** Math.min(attempt, 5)))
      }
    }
  }
  await Promise.all(Array.from({ length: opts.parallel ?? 8 }, lane))
}
