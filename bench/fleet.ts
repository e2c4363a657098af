// The fleet figures of `npm run bench` (issue: many instances, one provider budget):
// - pass_speedup_2_instances: one pass over N due TikTok tokens (300 ms provider latency, 16 in
//   flight per instance) by two service processes sharing it in parts (REFRESH_PARTS=2), in
//   refreshes a second, divided by the same pass run by one process (REFRESH_PARTS=1).
// - fleet_cap_ratio: the most token calls a fake Reddit (its own process) saw in any 60 s of real
//   time, divided by REDDIT_REQUESTS_PER_MINUTE, while two service processes run cron passes and
//   serve internal reads of expired tokens.
// - budget_ddb_units_per_call: capacity units the budget's DynamoDB calls cost per call granted,
//   as DynamoDB Local reports them (ReturnConsumedCapacity), two instances contending.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { createFleetBudget } from '../src/budget/fleet-budget.js'
import { createBudgetStore } from '../src/store/budget-store.js'
import type { Cipher } from '../src/store/crypto.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { createLock } from '../src/store/lock.js'
import { ensureTable } from '../src/store/table.js'
import { seedDue, type SeedGrant } from './seed.js'

const MIN = 60_000
const log = (line: string): void => { process.stderr.write(`# ${line}\n`) }

export interface FleetContext {
  readonly endpoint: string
  readonly cipher: Cipher
  readonly encryptionKey: string
  /** A fresh table name (the runner deletes its tables at the end). */
  newTable (): string
}

type Child = ChildProcessByStdio<Writable, Readable, null>

/** A provider process (provider-process.ts: TikTok; reddit-process.ts: Reddit) with `count` grants. */
async function startFake (script: string, count: number, latencyMs: number): Promise<{ env: Record<string, string>, grants: SeedGrant[], child: Child, lines: AsyncIterator<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname, String(count), String(latencyMs)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const grants: SeedGrant[] = []
  let env: Record<string, string> | undefined
  for (;;) {
    const next = await lines.next()
    if (next.done === true) throw new Error(`${script} ended`)
    const msg = JSON.parse(next.value) as { env?: Record<string, string>, done?: boolean, at?: string, rt?: string }
    if (msg.env !== undefined) env = msg.env
    else if (msg.done === true) break
    else grants.push({ at: msg.at ?? '', rt: msg.rt })
  }
  if (env === undefined) throw new Error('provider did not start')
  return { env, grants, child, lines }
}

/** `count` service processes (service-process.ts) with `env`; resolves with their ports. */
async function startServices (count: number, env: Record<string, string>): Promise<{ ports: number[], stop: () => Promise<void> }> {
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--import', 'tsx', new URL('./service-process.ts', import.meta.url).pathname], {
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  }))
  const ports = await Promise.all(children.map(async (child) => await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { port: number }).port))
    child.once('exit', (code) => reject(new Error(`service exited ${code}`)))
  })))
  return {
    ports,
    stop: async () => {
      await Promise.all(children.map(async (child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      }))
    }
  }
}

function serviceEnv (ctx: FleetContext, table: string, secret: string, extra: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    DYNAMODB_ENDPOINT: ctx.endpoint,
    TOKENS_TABLE: table,
    CRON_SECRET: secret,
    INTERNAL_API_KEY: `internal-${randomUUID()}`,
    COOKIE_SECRET: randomUUID() + randomUUID(),
    TOKEN_ENCRYPTION_KEY: ctx.encryptionKey,
    APP_URL: 'https://bench.invalid',
    ...extra
  }
}

/** One cron call to the first instance, then the pass's summary from the lock item. */
async function onePass (ctx: FleetContext, table: string, instances: number, grants: SeedGrant[], providerEnv: Record<string, string>, concurrency: number): Promise<{ perSec: number, refreshed: number, durationMs: number }> {
  const admin = createDynamoClients({ region: 'us-east-1', endpoint: ctx.endpoint, requestTimeoutMs: 20_000 })
  try {
    await ensureTable(admin.client, table)
    await seedDue(grants, { doc: admin.doc, table, cipher: ctx.cipher, platform: 'tiktok', nowMs: Date.now(), lifetimeMs: 2 * 60 * MIN, remainingMs: 20 * MIN })
    const secret = randomUUID()
    const services = await startServices(instances, serviceEnv(ctx, table, secret, {
      ...providerEnv, TIKTOK_REFRESH_CONCURRENCY: String(concurrency), REFRESH_PARTS: String(instances), REFRESH_RUN_BUDGET_MS: String(30 * MIN)
    }))
    try {
      const res = await fetch(`http://127.0.0.1:${services.ports[0] ?? 0}/api/cron/refresh-oauth`, { headers: { 'x-cron-secret': secret } })
      const { runId } = await res.json() as { runId: string }
      const lock = createLock({ doc: admin.doc, table, leaseMs: 1 })
      for (;;) {
        const state = await lock.status()
        const last = state.lastRun as { runId?: string, refreshed?: number, durationMs?: number, partial?: boolean, error?: string, errorCodes?: unknown, deferred?: number, failed?: number } | null
        if (last?.runId === runId) {
          const refreshed = last.refreshed ?? 0
          const durationMs = last.durationMs ?? 1
          log(`pass ${runId}: ${JSON.stringify({ refreshed, failed: last.failed, deferred: last.deferred, partial: last.partial, error: last.error, errorCodes: last.errorCodes })}`)
          return { perSec: refreshed / (durationMs / 1000), refreshed, durationMs }
        }
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    } finally {
      await services.stop()
    }
  } finally {
    admin.client.destroy()
  }
}

export async function passSpeedup (ctx: FleetContext, tokens: number, latencyMs = 300, concurrency = 16): Promise<number> {
  const fake = await startFake('./provider-process.ts', 2 * tokens, latencyMs)
  try {
    const one = await onePass(ctx, ctx.newTable(), 1, fake.grants.slice(0, tokens), fake.env, concurrency)
    log(`pass by 1 instance: ${one.refreshed} refreshed in ${one.durationMs} ms (${one.perSec.toFixed(1)}/s)`)
    const two = await onePass(ctx, ctx.newTable(), 2, fake.grants.slice(tokens), fake.env, concurrency)
    log(`pass by 2 instances in 2 parts: ${two.refreshed} refreshed in ${two.durationMs} ms (${two.perSec.toFixed(1)}/s)`)
    return two.perSec / one.perSec
  } finally {
    fake.child.stdin.end()
    fake.child.kill('SIGTERM')
  }
}

/** The most stamps inside any 60 s window. */
function peakPerMinute (times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let peak = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? 0) <= (sorted[i] ?? 0) - 60_000) j++
    peak = Math.max(peak, i - j + 1)
  }
  return peak
}

export async function fleetCapRatio (ctx: FleetContext, seconds: number, cap = 100): Promise<number> {
  const tokens = 4_000
  const fake = await startFake('./reddit-process.ts', tokens, 100)
  const admin = createDynamoClients({ region: 'us-east-1', endpoint: ctx.endpoint, requestTimeoutMs: 20_000 })
  const table = ctx.newTable()
  try {
    await ensureTable(admin.client, table)
    await seedDue(fake.grants, { doc: admin.doc, table, cipher: ctx.cipher, platform: 'reddit', nowMs: Date.now(), lifetimeMs: 60 * MIN, remainingMs: -MIN, prefix: 'cap-user-' })
    const secret = randomUUID()
    const env = serviceEnv(ctx, table, secret, { ...fake.env, REDDIT_REQUESTS_PER_MINUTE: String(cap), REFRESH_RUN_BUDGET_MS: '20000', REFRESH_PARTS: '2' })
    const services = await startServices(2, env)
    const statuses = new Map<number, number>()
    const count = (status: number): void => { statuses.set(status, (statuses.get(status) ?? 0) + 1) }
    const endAt = Date.now() + seconds * 1000
    let user = 0
    try {
      const reader = async (lane: number): Promise<void> => {
        while (Date.now() < endAt) {
          const port = services.ports[(lane + user) % 2] ?? 0
          const res = await fetch(`http://127.0.0.1:${port}/api/internal/tokens/cap-user-${user++ % tokens}/reddit`, { headers: { authorization: `Bearer ${env.INTERNAL_API_KEY ?? ''}` } })
          count(res.status)
          await res.arrayBuffer()
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      }
      const cron = async (): Promise<void> => {
        for (let i = 0; Date.now() < endAt; i++) {
          const res = await fetch(`http://127.0.0.1:${services.ports[i % 2] ?? 0}/api/cron/refresh-oauth`, { headers: { 'x-cron-secret': secret } })
          await res.arrayBuffer()
          await new Promise((resolve) => setTimeout(resolve, 5_000))
        }
      }
      await Promise.all([cron(), ...Array.from({ length: 4 }, async (_, lane) => await reader(lane))])
    } finally {
      await services.stop()
    }
    fake.child.stdin.write('stamps\n')
    const next = await fake.lines.next()
    const stamps = (JSON.parse(String(next.value)) as { stamps: number[] }).stamps
    const peak = peakPerMinute(stamps)
    log(`fleet cap: ${stamps.length} token calls in ${seconds} s, most in any 60 s: ${peak} (cap ${cap}); internal route statuses ${JSON.stringify(Object.fromEntries(statuses))}`)
    return peak / cap
  } finally {
    admin.client.destroy()
    fake.child.stdin.end()
    fake.child.kill('SIGTERM')
  }
}

export async function budgetUnitsPerCall (ctx: FleetContext): Promise<number> {
  const table = ctx.newTable()
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: ctx.endpoint, requestTimeoutMs: 20_000 })
  try {
    await ensureTable(dynamo.client, table)
    let units = 0
    const budgets = [0, 1].map(() => createFleetBudget({
      store: createBudgetStore({ doc: dynamo.doc, table, onUnits: (u) => { units += u } }),
      caps: () => ({ perMinute: 300 }),
      now: Date.now,
      log: { warn: () => {} }
    }))
    let granted = 0
    // Two instances, 8 callers each at a time, until well past the cap (refusals cost units too).
    for (let round = 0; round < 40; round++) {
      const decisions = await Promise.all(Array.from({ length: 16 }, async (_, i) => await budgets[i % 2]?.take('reddit', i % 4 === 0 ? 'cron' : 'on_use')))
      granted += decisions.filter((d) => d?.ok === true).length
    }
    log(`budget: ${granted} calls granted of 640 asked, ${units} capacity units in all`)
    return units / granted
  } finally {
    dynamo.client.destroy()
  }
}
