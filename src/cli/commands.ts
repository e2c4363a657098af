// The operators' commands, as functions over injected clients and an output sink (the CLI entry and
// the tests call the same code). None of them calls a provider or reads a token.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.js'
import { PLATFORM_NAMES, PLATFORM_SPECS } from '../platforms/registry.js'
import { platformDueRules, queryHorizonMs } from '../refresh/due.js'
import { decodeRunSummary } from '../refresh/summary.js'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../store/crypto.js'
import { createLock, RELEASE_FAILURES } from '../store/lock.js'
import { ensureTable } from '../store/table.js'
import type { StoredEvent } from '../store/event-item.js'
import { createWebhookOutbox } from '../store/webhook-outbox.js'
import { createTokenStore } from '../store/token-store.js'
import { isoTime } from '../iso-time.js'

export interface OpsContext {
  readonly config: Config
  readonly client: DynamoDBClient
  readonly doc: DynamoDBDocumentClient
  readonly now: () => number
  readonly out: (line: string) => void
}

export const EXIT = { ok: 0, refused: 1, usage: 2, storeUnavailable: 3, kmsUnavailable: 4 } as const

// Control characters (C0, DEL, C1), and the line and paragraph separators some terminals honour.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * A stored value fit for an operator's terminal: the lock item can be written by anything with table
 * access, and an escape sequence in a run id must not rewrite the screen or forge a line.
 */
function printable (value: unknown): string {
  return String(value).replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

const iso = (ms: number | null | undefined): string => isoTime(ms) ?? '-'

function lockOf (ctx: OpsContext) {
  return createLock({ doc: ctx.doc, table: ctx.config.tokensTable, leaseMs: ctx.config.run.lockLeaseMs, now: ctx.now })
}

export async function lockStatus (ctx: OpsContext): Promise<number> {
  const state = await lockOf(ctx).status()
  const nowMs = ctx.now()
  ctx.out(`table: ${ctx.config.tokensTable}`)
  if (state.runId === null) ctx.out('lock: free')
  else if (state.held) ctx.out(`lock: held by run ${printable(state.runId)} since ${iso(state.acquiredAtMs)}, lease ends ${iso(state.expiresAtMs)} (in ${Math.ceil(((state.expiresAtMs ?? nowMs) - nowMs) / 1000)} s)`)
  else ctx.out(`lock: lease of run ${printable(state.runId)} ended ${iso(state.expiresAtMs)} (free to take; \`lock release --force\` clears it)`)
  const last = decodeRunSummary(state.lastRun)
  if (last === null) {
    // A stored summary that fails the schema is said so, never taken for "no run yet".
    ctx.out(state.lastRun === null ? 'last run: none recorded' : 'last run: unreadable (the stored summary does not match the run summary schema)')
  } else {
    ctx.out(`last run: ${printable(last.runId)} finished ${iso(last.finishedAtMs)} in ${last.durationMs} ms${last.partial ? ' (partial)' : ''}${last.error === undefined ? '' : ` error=${printable(last.error)}`}`)
    ctx.out(`  refreshed=${last.refreshed} failed=${last.failed} needsReauth=${last.needsReauth} deferred=${last.deferred}`)
    for (const r of last.results) {
      ctx.out(`  ${printable(r.platform)}: ${r.configured ? `due=${r.due} refreshed=${r.refreshed} failed=${r.failed} needsReauth=${r.needsReauth} deferred=${r.deferred}` : 'not configured'}`)
    }
  }
  return EXIT.ok
}

/** Only the holder's run id frees a live lock; `force` clears only a lease that has already ended. */
export async function lockRelease (ctx: OpsContext, options: { runId?: string | undefined, force: boolean }): Promise<number> {
  const lock = lockOf(ctx)
  if (options.runId !== undefined) {
    const result = await lock.release(options.runId)
    if (result.released) {
      ctx.out(`released: the lock held by run ${printable(options.runId)} is free`)
      return EXIT.ok
    }
    ctx.out(result.reason === RELEASE_FAILURES.notHeld
      ? 'not released: the lock is not held'
      : `not released: the lock is held by run ${printable(result.heldBy ?? '?')}, not ${printable(options.runId)}`)
    return EXIT.refused
  }
  if (options.force) {
    const result = await lock.forceRelease()
    if (result.released) {
      ctx.out('released: the ended lease was cleared')
      return EXIT.ok
    }
    ctx.out(result.reason === RELEASE_FAILURES.notHeld
      ? 'not released: the lock is not held'
      : `not released: run ${printable(result.heldBy ?? '?')} holds a live lease until ${iso(result.expiresAtMs)}; wait for it to end or use --run-id`)
    return EXIT.refused
  }
  ctx.out('usage: lock release --run-id <id> | --force')
  return EXIT.usage
}

/** Dry run of the refresh query: how many tokens each platform's run would read now. */
export async function dueReport (ctx: OpsContext): Promise<number> {
  // queryDue reads keys only: the cipher never opens anything here, so it is a throwaway key's (the
  // configured entries may be KMS-wrapped, and an operator's role has no kms:Decrypt).
  const store = createTokenStore({ doc: ctx.doc, table: ctx.config.tokensTable, cipher: createCipher(parseEncryptionKeys(generateEncryptionKey('unused'))), now: ctx.now })
  const nowMs = ctx.now()
  for (const name of PLATFORM_NAMES) {
    const platform = ctx.config.platforms[name]
    let due = 0
    let expired = 0
    let earliest: number | undefined
    // The run's own horizon: on_demand tokens sit in the index at their grant-keeping deadline.
    const spec = PLATFORM_SPECS.find((p) => p.name === name) ?? {}
    const horizonMs = queryHorizonMs(platformDueRules(platform, spec, 0))
    for await (const page of store.queryDue(name, nowMs + horizonMs, 500)) {
      for (const key of page) {
        due++
        if (key.dueAtMs <= nowMs) expired++
        earliest = Math.min(earliest ?? key.dueAtMs, key.dueAtMs)
      }
    }
    ctx.out(`${name}: due=${due} expired=${expired} earliest=${iso(earliest)} window=${Math.round(horizonMs / 60_000)}min${platform.refreshMode === 'eager' ? '' : ' on_demand'}${platform.configured ? '' : ' (not configured: a run skips it)'}`)
  }
  return EXIT.ok
}

export async function createTable (ctx: OpsContext): Promise<number> {
  const result = await ensureTable(ctx.client, ctx.config.tokensTable)
  ctx.out(`${result.created ? 'created' : 'exists'}: table ${ctx.config.tokensTable} (active, TTL on \`ttl\`)`)
  return EXIT.ok
}

function eventLine (e: StoredEvent, nowMs: number): string {
  const when = e.partition === 'failed'
    ? `failed ${iso(e.failedAtMs)}`
    : e.leaseId !== undefined && e.nextAttemptAtMs > nowMs ? `sending (lease ends ${iso(e.nextAttemptAtMs)})` : `next attempt ${iso(e.nextAttemptAtMs)}`
  return `  ${e.id} ${e.type} ${e.platform} user=${e.userId} occurred=${iso(e.occurredAtMs)} attempts=${e.attempts} ${when}${e.lastError === undefined ? '' : ` lastError=${e.lastError}`}`
}

/** Webhook deliveries still pending and those given up as failed (a Query of each outbox partition). */
export async function webhookReport (ctx: OpsContext): Promise<number> {
  const outbox = createWebhookOutbox({ doc: ctx.doc, table: ctx.config.tokensTable, now: ctx.now })
  const nowMs = ctx.now()
  for (const partition of ['pending', 'failed'] as const) {
    const events = await outbox.list(partition)
    ctx.out(`${partition}: ${events.length}`)
    for (const e of events) ctx.out(eventLine(e, nowMs))
  }
  return EXIT.ok
}
