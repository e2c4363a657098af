// `npm run bench`: the cron refresh against DynamoDB Local and a fake provider in another process.
// Prints `name: value` lines: refresh_throughput_ratio, ddb_reads_per_due_token, cron_answer_ms
// (10,000 due tokens, 100 ms provider latency), the HTTP figures (status_vs_store_floor_ratio,
// internal_vs_store_floor_ratio, internal_token_p99_ms), webhook_drain_per_s, otel_overhead_ratio
// (bench/otel-overhead.ts, runnable alone), rss_growth_mb_100k (a pass over 100,000), the provider API
// proxy's (bench/proxy.ts): proxy_vs_direct_ratio, proxy_p99_ms, proxy_rss_growth_mb, and the fleet
// figures (bench/fleet.ts): pass_speedup_2_instances, fleet_cap_ratio, budget_ddb_units_per_call.
// Arguments pick figures: `npm run bench -- fleet_cap_ratio` runs that one alone; `-- fleet` the three
// fleet figures, `-- proxy` the proxy's three; none, all of them.
// Not a test: the figures and the command that produced them go in docs/performance.md.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import Fastify from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import { createCipher, generateEncryptionKey } from '../src/store/crypto.js'
import { createDynamoClients, type DynamoClients } from '../src/store/dynamodb-client.js'
import { startEmbeddedDynamoDb } from '../src/store/embedded-dynamodb.js'
import { createLock } from '../src/store/lock.js'
import { ensureTable } from '../src/store/table.js'
import { budgetUnitsPerCall, fleetCapRatio, passSpeedup } from './fleet.js'
import { internalVsStoreFloor, statusVsStoreFloor } from './http-floor.js'
import { otelOverhead } from './otel-overhead.js'
import { proxyFigures } from './proxy.js'
import { seedDue, type SeedGrant } from './seed.js'
import { webhookDrain } from './webhook-drain.js'

const SMALL = Number(process.env.BENCH_TOKENS ?? 10_000)
/** Tokens beside the due ones in the same table, not due (30 h left of TikTok's window of 12 h): they must cost no read. */
const IDLE = Number(process.env.BENCH_IDLE_TOKENS ?? 90_000)
const IDLE_PREFIX = 'bench-idle-'
const LARGE = Number(process.env.BENCH_TOKENS_LARGE ?? 100_000)
/** An unmeasured pass first, as benchmarks do: the JIT of both processes warms up on it. */
const WARMUP = Number(process.env.BENCH_WARMUP_TOKENS ?? 2_000)
const LATENCY_MS = 100
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)
const SECRET = randomUUID()
const FLEET_FIGURES = ['pass_speedup_2_instances', 'fleet_cap_ratio', 'budget_ddb_units_per_call'] as const
/** Measured together by bench/proxy.ts: asking for one runs the three. */
const PROXY_FIGURES = ['proxy_vs_direct_ratio', 'proxy_p99_ms', 'proxy_rss_growth_mb'] as const
const picked = new Set(process.argv.slice(2).flatMap((a) => a === 'fleet' ? [...FLEET_FIGURES] : (a === 'proxy' || (PROXY_FIGURES as readonly string[]).includes(a)) ? [...PROXY_FIGURES] : [a]))
const wants = (figure: string): boolean => picked.size === 0 || picked.has(figure)
/** The figures measured before the fleet's: one run of all or none of them (they share their tables). */
const RUN_SINGLE_INSTANCE_FIGURES = picked.size === 0 || [...picked].some((f) => !([...FLEET_FIGURES, ...PROXY_FIGURES] as readonly string[]).includes(f))
const MIN = 60_000

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const rssMb = (): number => process.memoryUsage().rss / 1_048_576

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds (pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid ?? 'self'}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}
const log = (line: string): void => { process.stderr.write(`# ${line}\n`) }
/** The machine's load when a figure is measured (other work on the same cores moves every figure). */
const loadAverage = (): string => { try { return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') } catch { return '?' } }

/** BENCH_TOKENS_LARGE=0: the 100,000-token pass is left out. */
class Skip extends Error {}

interface Provider { readonly env: Record<string, string>, readonly grants: SeedGrant[], readonly child: ChildProcessByStdio<Writable, Readable, null> }

async function startProvider (count: number, latencyMs: number): Promise<Provider> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./provider-process.ts', import.meta.url).pathname, String(count), String(latencyMs)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const grants: SeedGrant[] = []
  let env: Record<string, string> | undefined
  for await (const line of createInterface({ input: child.stdout })) {
    const msg = JSON.parse(line) as { env?: Record<string, string>, done?: boolean, at?: string, rt?: string }
    if (msg.env !== undefined) env = msg.env
    else if (msg.done === true) break
    else grants.push({ at: msg.at ?? '', rt: msg.rt })
  }
  if (env === undefined) throw new Error('provider did not start')
  return { env, grants, child }
}

/**
 * Counts DynamoDB calls by command (`ddb_reads_per_due_token` counts read calls), and under
 * `itemsAsked` the keys that GetItem and BatchGetItem calls asked for (items read, for the log).
 */
function countCalls (dynamo: DynamoClients): Map<string, number> {
  const counts = new Map<string, number>()
  const add = (name: string, n: number): void => { counts.set(name, (counts.get(name) ?? 0) + n) }
  dynamo.client.middlewareStack.add((next, context) => async (args) => {
    const name = String(context.commandName ?? 'unknown')
    add(name, 1)
    const input = args.input as { RequestItems?: Record<string, { Keys?: unknown[] }> }
    if (name === 'GetItemCommand') add('itemsAsked', 1)
    if (name === 'BatchGetItemCommand') add('itemsAsked', Object.values(input.RequestItems ?? {}).reduce((n, ask) => n + (ask.Keys?.length ?? 0), 0))
    const result = await next(args)
    // What was read, counted from the answers: index entries (Query) and items (GetItem, BatchGetItem),
    // and how many of them belong to tokens that are not due.
    type Attr = Record<string, { S?: string } | undefined>
    const output = result.output as { Count?: number, Items?: Attr[], Item?: Attr, Responses?: Record<string, Attr[]> }
    const idle = (item: Attr | undefined): boolean => item?.userId?.S?.startsWith(IDLE_PREFIX) === true
    const read = name === 'QueryCommand'
      ? output.Items ?? []
      : name === 'GetItemCommand' ? (output.Item === undefined ? [] : [output.Item]) : name === 'BatchGetItemCommand' ? Object.values(output.Responses ?? {}).flat() : []
    add(name === 'QueryCommand' ? 'indexEntriesRead' : 'itemsRead', read.length)
    add('notDueRead', read.filter(idle).length)
    return result
  }, { step: 'initialize', name: 'benchCallCounter' })
  return counts
}

interface PassResult { answerMs: number, summary: Record<string, unknown>, peakRssMb: number, atPeak: string }

/** Where the memory is (MB): V8's spaces as committed, and memory outside the heap. */
function memoryBreakdown (): string {
  const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(1)
  const spaces = getHeapSpaceStatistics().map((space) => `${space.space_name.replace(/_space$/, '')} ${mb(space.space_size)}`)
  const { rss, external, arrayBuffers } = process.memoryUsage()
  return `rss ${mb(rss)}; heap spaces ${spaces.join(', ')}; external ${mb(external)} (array buffers ${mb(arrayBuffers)})`
}

/** One cron call on a real listening app, then waits for the run's summary on the lock item. */
async function cronPass (endpoint: string, table: string, providerEnv: Record<string, string>, encryptionKey: string, dynamo: DynamoClients, concurrency: number): Promise<PassResult> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DYNAMODB_ENDPOINT: endpoint,
    TOKENS_TABLE: table,
    CRON_SECRET: SECRET,
    COOKIE_SECRET: randomUUID() + randomUUID(),
    TOKEN_ENCRYPTION_KEY: encryptionKey,
    APP_URL: 'https://bench.invalid',
    REFRESH_RUN_BUDGET_MS: String(30 * MIN),
    TIKTOK_REFRESH_CONCURRENCY: String(concurrency),
    ...providerEnv
  })
  const server = Fastify({ ...serverOptions(config), logger: { level: 'warn' } })
  await server.register(app, { config, dynamo })
  await server.listen({ port: 0, host: '127.0.0.1' })
  const address = server.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const watcher = createDynamoClients({ region: 'us-east-1', endpoint })
  const lock = createLock({ doc: watcher.doc, table, leaseMs: 1 })
  let peakRssMb = rssMb()
  let atPeak = memoryBreakdown()
  try {
    const t0 = performance.now()
    const res = await fetch(`http://127.0.0.1:${port}/api/cron/refresh-oauth`, { headers: { 'x-cron-secret': SECRET } })
    const body = await res.json() as { runId?: string }
    const answerMs = performance.now() - t0
    if (res.status !== 200 || body.runId === undefined) throw new Error(`cron answered ${res.status}`)
    for (;;) {
      if (rssMb() > peakRssMb) {
        peakRssMb = rssMb()
        atPeak = memoryBreakdown()
      }
      const state = await lock.status()
      if (state.lastRun?.runId === body.runId) return { answerMs, summary: state.lastRun, peakRssMb, atPeak }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  } finally {
    await server.close()
    watcher.client.destroy()
  }
}

const embedded = process.env.DYNAMODB_ENDPOINT === undefined ? await startEmbeddedDynamoDb() : undefined
const endpoint = process.env.DYNAMODB_ENDPOINT ?? embedded?.endpoint ?? ''
const encryptionKey = generateEncryptionKey('bench')
const cipher = createCipher(loadConfig({ COOKIE_SECRET: 'x'.repeat(32), TOKEN_ENCRYPTION_KEY: encryptionKey, APP_URL: 'https://bench.invalid' }).encryptionKeys)
const tables: string[] = []
const admin = createDynamoClients({ region: 'us-east-1', endpoint })
const provider = RUN_SINGLE_INSTANCE_FIGURES ? await startProvider(WARMUP + SMALL + LARGE, LATENCY_MS) : undefined
/** A name for a table of its own, deleted at the end of the run. */
function newTable (): string {
  const table = `bench-${randomUUID().slice(0, 8)}`
  tables.push(table)
  return table
}
/** A table of its own with `grants` as due TikTok connections, and `idle` connections that are not due. */
async function seededTable (grants: SeedGrant[], idle = 0): Promise<string> {
  const table = newTable()
  await ensureTable(admin.client, table)
  const t0 = performance.now()
  const nowMs = Date.now()
  await seedDue(grants, { doc: admin.doc, table, cipher, platform: 'tiktok', nowMs, lifetimeMs: 2 * 60 * MIN, remainingMs: 20 * MIN })
  if (idle > 0) {
    const dummy = Array.from({ length: idle }, () => ({ at: 'idle-access', rt: 'idle-refresh' }))
    await seedDue(dummy, { doc: admin.doc, table, cipher, platform: 'tiktok', nowMs, lifetimeMs: 48 * 60 * MIN, remainingMs: 30 * 60 * MIN, prefix: IDLE_PREFIX, parallel: 16 })
  }
  log(`seeded ${grants.length} due + ${idle} not due tokens in ${Math.round(performance.now() - t0)} ms`)
  return table
}
/** The provider API proxy's three figures (bench/proxy.ts). */
async function proxySection (): Promise<void> {
  log(`load before the proxy figures: ${loadAverage()}`)
  const figures = await proxyFigures({ endpoint, table: newTable(), cipher, encryptionKey, gc })
  log(`proxy: ${JSON.stringify(figures.proxy)}; direct: ${JSON.stringify(figures.direct)}; ${figures.users} users cycled, fake API latency ${figures.latencyMs} ms`)
  log(`proxy uploads: 2 × 50 concurrent × 1 MiB, statuses ${JSON.stringify(figures.uploadStatuses)}; rss ${figures.rssBeforeMb.toFixed(1)} MB before, peak ${figures.rssPeakMb.toFixed(1)} MB`)
  process.stdout.write(`proxy_vs_direct_ratio: ${(figures.proxy.reqPerSec / figures.direct.reqPerSec).toFixed(3)}\n`)
  process.stdout.write(`proxy_p99_ms: ${figures.proxy.p99Ms}\n`)
  process.stdout.write(`proxy_rss_growth_mb: ${(figures.rssPeakMb - figures.rssBeforeMb).toFixed(1)}\n`)
}

try {
  // The fleet figures, side by side in this run (bench/fleet.ts).
  const fleet = { endpoint, cipher, encryptionKey, newTable }
  if (wants('budget_ddb_units_per_call')) process.stdout.write(`budget_ddb_units_per_call: ${(await budgetUnitsPerCall(fleet)).toFixed(3)}\n`)
  if (wants('fleet_cap_ratio')) {
    log(`load before fleet_cap_ratio: ${loadAverage()}`)
    process.stdout.write(`fleet_cap_ratio: ${(await fleetCapRatio(fleet, Number(process.env.BENCH_CAP_SECONDS ?? 130))).toFixed(3)}\n`)
  }
  if (wants('pass_speedup_2_instances')) {
    log(`load before pass_speedup_2_instances: ${loadAverage()}`)
    process.stdout.write(`pass_speedup_2_instances: ${(await passSpeedup(fleet, Number(process.env.BENCH_SPEEDUP_TOKENS ?? 10_000))).toFixed(3)}\n`)
  }
  if (wants('proxy_vs_direct_ratio')) await proxySection()
  if (provider === undefined) throw new Skip()
  // 0. Warm-up, not measured.
  if (WARMUP > 0) {
    const warm = await seededTable(provider.grants.splice(0, WARMUP))
    const warmDynamo = createDynamoClients({ region: 'us-east-1', endpoint })
    const pass = await cronPass(endpoint, warm, provider.env, encryptionKey, warmDynamo, CONCURRENCY)
    warmDynamo.client.destroy()
    log(`warm-up: ${JSON.stringify({ refreshed: pass.summary.refreshed, durationMs: pass.summary.durationMs })}`)
  }

  log(`load: ${loadAverage()}`)
  // 1. 100,000 tokens of which 10,000 are due, 100 ms provider latency.
  const small = await seededTable(provider.grants.slice(0, SMALL), IDLE)
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint })
  const calls = countCalls(dynamo)
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  const cpuBefore = [cpuSeconds(undefined), cpuSeconds(embedded?.pid), cpuSeconds(provider.child.pid)]
  const first = await cronPass(endpoint, small, provider.env, encryptionKey, dynamo, CONCURRENCY)
  dynamo.client.destroy()
  const s = first.summary as { refreshed: number, durationMs: number, results: Array<{ due: number }>, failed: number }
  const due = s.results.reduce((n, r) => n + r.due, 0)
  const achieved = s.refreshed / (s.durationMs / 1000)
  const ideal = CONCURRENCY / (LATENCY_MS / 1000)
  const reads = [...calls].filter(([name]) => /^(Get|Query|Scan|BatchGet)\w*Command$/.test(name)).reduce((n, [, c]) => n + c, 0)
  log(`pass 1: due=${due} refreshed=${s.refreshed} failed=${s.failed} in ${s.durationMs} ms (${achieved.toFixed(1)}/s of ideal ${ideal}/s); calls ${JSON.stringify(Object.fromEntries(calls))}`)
  const [service, dynamoDb, fake] = [cpuSeconds(undefined), cpuSeconds(embedded?.pid), cpuSeconds(provider.child.pid)].map((after, i) => (after - (cpuBefore[i] ?? 0)).toFixed(1))
  loopDelay.disable()
  const ms = (ns: number): string => (ns / 1e6).toFixed(1)
  log(`pass 1 event loop delay (ms): mean ${ms(loopDelay.mean)}, p90 ${ms(loopDelay.percentile(90))}, p99 ${ms(loopDelay.percentile(99))}, max ${ms(loopDelay.max)}`)
  log(`pass 1 CPU seconds: service ${service}, DynamoDB Local ${dynamoDb}, fake provider ${fake} (2 cores × ${(s.durationMs / 1000).toFixed(1)} s available)`)
  process.stdout.write(`refresh_throughput_ratio: ${(achieved / ideal).toFixed(3)}\n`)
  process.stdout.write(`ddb_reads_per_due_token: ${(reads / due).toFixed(3)}\n`)
  process.stdout.write(`ddb_items_read_per_due_token: ${(((calls.get('indexEntriesRead') ?? 0) + (calls.get('itemsRead') ?? 0)) / due).toFixed(3)}\n`)
  process.stdout.write(`ddb_reads_on_not_due_tokens: ${calls.get('notDueRead') ?? 0}\n`)
  process.stdout.write(`cron_answer_ms: ${Math.round(first.answerMs)}\n`)

  // 1b. /api/platforms/status with a verified JWT ÷ a bare route making the same Query.
  log(`load before the HTTP figures: ${loadAverage()}`)
  const st = await statusVsStoreFloor({ endpoint, table: small, cipher, encryptionKey })
  log(`status: ${JSON.stringify(st.status)}; floor: ${JSON.stringify(st.floor)}; JWKS downloads ${st.jwksRequests}`)
  process.stdout.write(`status_vs_store_floor_ratio: ${(st.status.reqPerSec / st.floor.reqPerSec).toFixed(3)}\n`)

  // 1c. The internal token route on fresh tokens of many users ÷ a bare route making the same GetItem and decryption.
  log(`load before the internal figures: ${loadAverage()}`)
  const internal = await internalVsStoreFloor({ endpoint, table: newTable(), cipher, encryptionKey })
  log(`internal: ${JSON.stringify(internal.internal)}; floor: ${JSON.stringify(internal.floor)}; ${internal.users} users cycled`)
  process.stdout.write(`internal_vs_store_floor_ratio: ${(internal.internal.reqPerSec / internal.floor.reqPerSec).toFixed(3)}\n`)
  process.stdout.write(`internal_token_p99_ms: ${internal.internal.p99Ms}\n`)

  // 1d. A backlog of connection events drained by the delivery worker to a local receiver.
  log(`load before the webhook drain: ${loadAverage()}`)
  const drain = await webhookDrain({ endpoint, table: newTable(), cipher, encryptionKey })
  log(`webhook drain: ${drain.events} events written in ${Math.round(drain.writeMs)} ms, drained in ${Math.round(drain.drainMs)} ms; ${drain.deliveries} deliveries of ${drain.uniqueIds} webhook-ids`)
  process.stdout.write(`webhook_drain_per_s: ${(drain.events / (drain.drainMs / 1000)).toFixed(1)}\n`)

  // 1e. The provider API proxy: proxied ÷ direct calls, its p99, RSS under 50 concurrent 1 MiB uploads.
  await proxySection()

  // 1f. /api/platforms/status on the real server process, tracing on (exporting to a local OTLP receiver) ÷ off.
  log(`load before the tracing overhead: ${loadAverage()}`)
  const otel = await otelOverhead({ endpoint, table: newTable(), encryptionKey })
  log(`tracing off: ${JSON.stringify(otel.off)}; on: ${JSON.stringify(otel.on)}; ${otel.exports} OTLP exports, ${otel.exportedBytes} bytes`)
  process.stdout.write(`otel_overhead_ratio: ${(otel.on.reqPerSec / otel.off.reqPerSec).toFixed(3)}\n`)

  // 2. 100,000 due tokens: memory stays flat (keys are paged, workers pull on demand).
  if (LARGE === 0) throw new Skip()
  const large = await seededTable(provider.grants.slice(SMALL))
  provider.grants.length = 0
  provider.child.stdin.write(`latency ${process.env.BENCH_LARGE_LATENCY_MS ?? 20}\n`)
  gc()
  await new Promise((resolve) => setTimeout(resolve, 500))
  gc()
  const baseline = rssMb()
  log(`before pass 2: ${memoryBreakdown()}`)
  const baselineHeapMb = process.memoryUsage().heapUsed / 1_048_576
  const largeDynamo = createDynamoClients({ region: 'us-east-1', endpoint })
  const second = await cronPass(endpoint, large, provider.env, encryptionKey, largeDynamo, 32)
  largeDynamo.client.destroy()
  const s2 = second.summary as { refreshed: number, durationMs: number, failed: number }
  gc()
  const heapAfterMb = process.memoryUsage().heapUsed / 1_048_576
  log(`pass 2: refreshed=${s2.refreshed} failed=${s2.failed} in ${s2.durationMs} ms; rss baseline ${baseline.toFixed(1)} MB, peak ${second.peakRssMb.toFixed(1)} MB; heap used ${baselineHeapMb.toFixed(1)} MB before, ${heapAfterMb.toFixed(1)} MB after (gc)`)
  log(`pass 2 at peak RSS: ${second.atPeak}`)
  process.stdout.write(`rss_growth_mb_100k: ${(second.peakRssMb - baseline).toFixed(1)}\n`)
} catch (err) {
  if (!(err instanceof Skip)) throw err
} finally {
  for (const table of tables) await admin.client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
  admin.client.destroy()
  provider?.child.stdin.end()
  provider?.child.kill('SIGTERM')
  await embedded?.stop()
}
