// `npm run simulate`: a day at scale on a virtual clock, per platform and refresh mode, through the
// service's own decision code (decideRefresh, the windows, half-life and lapse rules, the on_demand
// rules and index deadlines, the rate limiter). Not a test, and no DynamoDB: it counts what a day
// would ask of the store and the providers. Accounts live in typed arrays (one slot per account).
// Flags: --accounts N (1,000,000) --hours H (24) --active-share F (0.1) --use-interval-min M (15)
// --concurrency C (64) --runners R (1) --latency-ms L (300) --tiktok-access-hours H (2)
// --platforms a,b --modes eager,on_demand
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config.js'
import type { PlatformSpec } from '../src/platforms/platform.js'
import type { PlatformName } from '../src/platforms/registry.js'
import { PLATFORM_SPECS } from '../src/platforms/registry.js'
import { decideRefresh, dueAtAfterWrite, handoutDueRules, platformDueRules, queryHorizonMs, type DueRules, type RefreshMode } from '../src/refresh/due.js'
import { createRateLimiter, type RateLimiter } from '../src/refresh/limiter.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import type { TokenRecord } from '../src/store/token-item.js'

const SEC = 1_000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const DAY = 24 * HOUR

/** Lifetimes as the providers issue them (their docs, 2026-12): access, and the refresh token's own. */
const LIFETIMES: Record<string, { accessMs: number, refreshMs?: number, grantIsToken?: boolean }> = {
  reddit: { accessMs: HOUR, refreshMs: 365 * DAY }, // https://github.com/reddit-archive/reddit/wiki/OAuth2 (1 h; refresh token "permanent", 1 y assumed)
  tiktok: { accessMs: 2 * HOUR, refreshMs: 365 * DAY }, // https://developers.tiktok.com/doc/oauth-user-access-token-management (older pages: 24 h access)
  instagram: { accessMs: 60 * DAY }, // long-lived token, 60 d
  threads: { accessMs: 60 * DAY } // long-lived token, 60 d
}

const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '1000000' },
    hours: { type: 'string', default: '24' },
    'active-share': { type: 'string', default: '0.1' },
    'use-interval-min': { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '64' },
    runners: { type: 'string', default: '1' },
    'latency-ms': { type: 'string', default: '300' },
    'tiktok-access-hours': { type: 'string', default: '2' },
    platforms: { type: 'string', default: 'reddit,tiktok,instagram,threads' },
    modes: { type: 'string', default: 'eager,on_demand' }
  }
})
const N = Number(args.accounts)
const HOURS = Number(args.hours)
const ACTIVE_SHARE = Number(args['active-share'])
const USE_INTERVAL_S = Math.round(Number(args['use-interval-min']) * 60)
const CONCURRENCY = Number(args.concurrency)
/** Runners sharing one pass (a sharded pass: one lease per index shard); the cap stays one per client id. */
const RUNNERS = Number(args.runners)
const LATENCY_MS = Number(args['latency-ms'])
if (LIFETIMES.tiktok !== undefined) LIFETIMES.tiktok.accessMs = Number(args['tiktok-access-hours']) * HOUR

/** The service's configuration with its defaults, only the mode set per run (and the platform configured). */
function rulesFor (spec: PlatformSpec<PlatformName>, mode: RefreshMode): { rules: DueRules, intervalMs: number, runBudgetMs: number, minTtlMs: number, perMinute?: number | undefined } {
  const p = spec.envPrefix
  const config = loadConfig({
    COOKIE_SECRET: 'x'.repeat(32),
    TOKEN_ENCRYPTION_KEY: generateEncryptionKey('sim'),
    APP_URL: 'https://app.example',
    [spec.clientIdVar]: 'id',
    [`${p}_CLIENT_SECRET`]: 'secret',
    [`${p}_REDIRECT_URI`]: 'https://svc.example/cb',
    [`${p}_REFRESH_MODE`]: mode
  })
  const platform = config.platforms[spec.name]
  const { lapseMarginMs } = config.run
  return {
    rules: platformDueRules(platform, spec, lapseMarginMs),
    intervalMs: config.run.intervalMs,
    runBudgetMs: config.run.runBudgetMs,
    minTtlMs: config.run.tokenMinTtlMs,
    perMinute: platform.requestsPerMinute
  }
}

interface Figures {
  platform: string
  mode: string
  cronRefreshes: number
  useRefreshes: number
  peakPerSec: number
  peakIndexWritesPerSec: number
  indexWrites: number
  /** on_demand index moves (moveDueAt) of tokens found but not due. */
  moves: number
  /** The run's Query: index entries read; its BatchGetItem: items read (consistent). */
  indexEntriesRead: number
  itemsRead: number
  /** The internal route's GetItem per call (the same in both modes). */
  routeReads: number
  lapsed: number
  grantsLost: number
  useFailed: number
  /** Due tokens the last run of the day left undone because the cap held it back / the budget ran out. */
  capDeferred: number
  budgetDeferred: number
  /** Calls of the internal route whose refresh the cap held back (each call counted). */
  useCapped: number
}

/** A mutable record the decision code reads (one object, refilled per account: no million objects). */
function scratchRecord (platform: string): { -readonly [K in keyof TokenRecord]: TokenRecord[K] } {
  return {
    userId: 'sim',
    platform,
    status: 'connected',
    version: 1,
    account: { id: 'a' },
    scopes: [],
    expiresAtMs: 0,
    issuedAtMs: 0,
    connectedAtMs: 0,
    hasRefreshToken: true,
    attempts: 0,
    sealed: { accessToken: '' }
  }
}

async function simulate (name: string, spec: PlatformSpec<PlatformName>, lifetime: { accessMs: number, refreshMs?: number }, mode: RefreshMode): Promise<Figures> {
  const { rules, intervalMs, runBudgetMs, minTtlMs, perMinute } = rulesFor(spec, mode)
  const refreshMs = lifetime.refreshMs
  // Virtual time in ms from the start of the measured day; a warm-up day first settles the phases.
  const warmupMs = DAY
  const endMs = HOURS * HOUR
  let nowMs = -warmupMs
  const clock = { now: () => nowMs, sleep: async (ms: number) => { nowMs += ms } }
  // Requests to the provider's token endpoint share one cap per client id (cron and use alike).
  const limiter: RateLimiter | undefined = perMinute === undefined ? undefined : createRateLimiter(perMinute, clock)

  const expiresAt = new Float64Array(N)
  const issuedAt = new Float64Array(N)
  const lastRefreshed = new Float64Array(N)
  const connectedAt = new Float64Array(N)
  const refreshExpiresAt = new Float64Array(N)
  const dueAt = new Float64Array(N)
  // Initial phases: ages spread over what the rules let a token reach, so day one is steady state.
  const grantKeeping = mode === 'on_demand' && rules.accessTokenIsGrant !== true
  const spreadMs = grantKeeping ? (rules.grant?.keepaliveMs ?? DAY) : Math.max(1, lifetime.accessMs - Math.min(rules.windowMs, lifetime.accessMs / 2))
  let seed = 42
  const random = (): number => { seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648; return seed / 2_147_483_648 }
  for (let i = 0; i < N; i++) {
    const refreshedAtMs = nowMs - random() * spreadMs
    lastRefreshed[i] = refreshedAtMs
    issuedAt[i] = refreshedAtMs
    expiresAt[i] = refreshedAtMs + lifetime.accessMs
    connectedAt[i] = refreshedAtMs - random() * 30 * DAY
    refreshExpiresAt[i] = refreshMs === undefined ? Number.NaN : refreshedAtMs + refreshMs
    dueAt[i] = indexValue(i)
  }
  function indexValue (i: number): number {
    return dueAtAfterWrite({
      expiresAtMs: expiresAt[i] ?? 0,
      refreshExpiresAtMs: Number.isNaN(refreshExpiresAt[i]) ? undefined : refreshExpiresAt[i],
      lastRefreshedAtMs: lastRefreshed[i],
      connectedAtMs: connectedAt[i] ?? 0
    }, rules)
  }
  const r = scratchRecord(spec.name)
  function load (i: number): TokenRecord {
    r.expiresAtMs = expiresAt[i]
    r.issuedAtMs = issuedAt[i] ?? 0
    r.lastRefreshedAtMs = lastRefreshed[i]
    r.connectedAtMs = connectedAt[i] ?? 0
    r.refreshExpiresAtMs = Number.isNaN(refreshExpiresAt[i]) ? undefined : refreshExpiresAt[i]
    r.dueAtMs = dueAt[i]
    return r
  }

  const f: Figures = { platform: name, mode, cronRefreshes: 0, useRefreshes: 0, peakPerSec: 0, peakIndexWritesPerSec: 0, indexWrites: 0, moves: 0, indexEntriesRead: 0, itemsRead: 0, routeReads: 0, lapsed: 0, grantsLost: 0, useFailed: 0, capDeferred: 0, budgetDeferred: 0, useCapped: 0 }
  const measuring = (): boolean => nowMs >= 0
  let secondRefreshes = 0
  let secondIndexWrites = 0
  function refresh (i: number, byUse: boolean): void {
    if (measuring()) {
      if (byUse) f.useRefreshes++
      else f.cronRefreshes++
      if (!grantKeeping && (expiresAt[i] ?? 0) < nowMs) f.lapsed++
      if (refreshMs !== undefined ? (refreshExpiresAt[i] ?? 0) < nowMs : (expiresAt[i] ?? 0) < nowMs) f.grantsLost++
    }
    const before = dueAt[i]
    issuedAt[i] = nowMs
    lastRefreshed[i] = nowMs
    expiresAt[i] = nowMs + lifetime.accessMs
    if (refreshMs !== undefined) refreshExpiresAt[i] = nowMs + refreshMs
    dueAt[i] = indexValue(i)
    secondRefreshes++
    // A changed index key: the old entry deleted, the new one put (two index writes).
    if (dueAt[i] !== before) secondIndexWrites += 2
  }
  function moveIndex (i: number, to: number): void {
    if (measuring()) f.moves++
    dueAt[i] = to
    secondIndexWrites += 2
  }

  // Active accounts call the internal route every USE_INTERVAL_S, each at its own second.
  const activeCount = Math.round(N * ACTIVE_SHARE)
  const byPhase: Int32Array[] = Array.from({ length: USE_INTERVAL_S }, () => new Int32Array(0))
  {
    const counts = new Int32Array(USE_INTERVAL_S)
    const phase = new Int32Array(activeCount)
    for (let a = 0; a < activeCount; a++) {
      const p = Math.floor(random() * USE_INTERVAL_S)
      phase[a] = p
      counts[p] = (counts[p] ?? 0) + 1
    }
    for (let p = 0; p < USE_INTERVAL_S; p++) byPhase[p] = new Int32Array(counts[p] ?? 0)
    const fill = new Int32Array(USE_INTERVAL_S)
    for (let a = 0; a < activeCount; a++) {
      const p = phase[a] ?? 0
      const at = fill[p] ?? 0
      fill[p] = at + 1;
      (byPhase[p] as Int32Array)[at] = a
    }
  }
  // The internal route's rules: a token expiring within TOKEN_MIN_TTL_MS is refreshed first.
  const useRules = handoutDueRules(minTtlMs, rules, false)

  const perRunSlotsPerSec = RUNNERS * CONCURRENCY * SEC / LATENCY_MS
  let run: { order: Int32Array, next: number, endsAtMs: number, credit: number, capped: boolean } | undefined
  const candidates = new Int32Array(N)
  const bucketOf = new Int32Array(N)

  /** The run's Query: keys with dueAt <= now + horizon, in index order (a counting sort by minute). */
  function startRun (): void {
    endRun()
    const untilMs = nowMs + queryHorizonMs(rules)
    let n = 0
    let lo = Infinity
    for (let i = 0; i < N; i++) if ((dueAt[i] ?? Infinity) <= untilMs) { candidates[n++] = i; lo = Math.min(lo, dueAt[i] ?? 0) }
    const buckets = Math.max(1, Math.ceil((untilMs - lo) / MIN) + 1)
    const counts = new Int32Array(buckets + 1)
    for (let k = 0; k < n; k++) {
      const b = Math.floor(((dueAt[candidates[k] ?? 0] ?? 0) - lo) / MIN)
      bucketOf[k] = b
      counts[b + 1] = (counts[b + 1] ?? 0) + 1
    }
    for (let b = 0; b < buckets; b++) counts[b + 1] = (counts[b + 1] ?? 0) + (counts[b] ?? 0)
    const order = new Int32Array(n)
    for (let k = 0; k < n; k++) {
      const b = bucketOf[k] ?? 0
      const at = counts[b] ?? 0
      counts[b] = at + 1
      order[at] = candidates[k] ?? 0
    }
    run = { order, next: 0, endsAtMs: nowMs + runBudgetMs, credit: 0, capped: false }
  }

  /** One second of the run: keys read and decided in index order; refreshes bounded by the lanes and the cap. */
  async function runSecond (): Promise<void> {
    if (run === undefined) return
    run.credit = Math.min(run.credit + perRunSlotsPerSec, perRunSlotsPerSec)
    while (run.next < run.order.length && run.credit >= 1) {
      const i = run.order[run.next] ?? 0
      const d = decideRefresh(load(i), nowMs, rules)
      if (d.action === 'refresh') {
        if (limiter !== undefined && !(await takeNow(limiter))) { run.capped = true; break } // waits for the cap's next slot
        run.capped = false
        run.credit -= 1
        refresh(i, false)
      } else if (d.reason === 'access_left_to_use') {
        // refresh-one moves the entry of a token found but not due to its deadline
        const to = indexValue(i)
        if (to > (dueAt[i] ?? 0)) moveIndex(i, to)
      }
      if (measuring()) { f.indexEntriesRead++; f.itemsRead++ }
      run.next++
    }
    if (run.next >= run.order.length) endRun()
    else if (nowMs >= run.endsAtMs) endRun()
  }

  /** The budget is spent: the due tokens it did not reach wait for the next run (the cap's fault if it held the run back). */
  function endRun (): void {
    if (run === undefined) return
    if (measuring()) {
      if (run.next >= run.order.length) {
        f.capDeferred = 0
        f.budgetDeferred = 0
      }
      let due = 0
      for (let k = run.next; k < run.order.length; k++) if (decideRefresh(load(run.order[k] ?? 0), nowMs, rules).action === 'refresh') due++
      // What the day's last run left is the backlog the day ends with (distinct tokens).
      f.capDeferred = run.capped ? due : 0
      f.budgetDeferred = run.capped ? 0 : due
    }
    run = undefined
  }

  /** The service's limiter with its deadline at now: a slot free now, or none (no virtual sleep). */
  async function takeNow (l: RateLimiter): Promise<boolean> {
    return await l.take(nowMs)
  }

  for (let s = 0; nowMs < endMs; s++, nowMs += SEC) {
    if (Math.round(nowMs) % intervalMs === 0) startRun()
    await runSecond()
    for (const a of byPhase[s % USE_INTERVAL_S] ?? []) {
      const i = a // active accounts are the first activeCount slots (phases are random)
      if (measuring()) f.routeReads++
      if ((expiresAt[i] ?? 0) - nowMs > minTtlMs) continue // fresh: handed out as is (no decision needed)
      const d = decideRefresh(load(i), nowMs, useRules)
      if (d.action !== 'refresh') continue
      if (limiter !== undefined && !(await takeNow(limiter))) {
        if (measuring()) {
          f.useCapped++
          if ((expiresAt[i] ?? 0) <= nowMs) f.useFailed++ // expired and no slot: 503 provider_unavailable
        }
        continue
      }
      refresh(i, true)
    }
    if (measuring()) {
      f.peakPerSec = Math.max(f.peakPerSec, secondRefreshes)
      f.peakIndexWritesPerSec = Math.max(f.peakIndexWritesPerSec, secondIndexWrites)
      f.indexWrites += secondIndexWrites
    }
    secondRefreshes = 0
    secondIndexWrites = 0
  }
  endRun()
  // Still expired at the end of the day, never refreshed since: lapsed too (eager's promise is a valid
  // access token at all times; on_demand's is a live grant).
  for (let i = 0; i < N; i++) {
    if (!grantKeeping && (expiresAt[i] ?? 0) < nowMs) f.lapsed++
    if (refreshMs !== undefined ? (refreshExpiresAt[i] ?? 0) < nowMs : (expiresAt[i] ?? 0) < nowMs) f.grantsLost++
  }
  return f
}

/** Capacity units per operation (DynamoDB rounds reads to 4 KB, writes to 1 KB) and on-demand prices: assumptions, printed. */
const UNITS = { itemRru: 1, entryRru: 0.01, routeRru: 1, itemWru: 2 }
const PRICE = { rruPerMillion: 0.125, wruPerMillion: 0.625 }
const costs: Array<{ platform: string, mode: string, rru: number, wru: number, usd: string }> = []
function cost (f: Figures, perDay: (x: number) => number): void {
  const rru = perDay(f.itemsRead * UNITS.itemRru + f.indexEntriesRead * UNITS.entryRru + f.routeReads * UNITS.routeRru)
  // A refresh: the claim and the write of its answer (2 base-table writes); a move: 1; index writes as counted.
  const wru = perDay((2 * (f.cronRefreshes + f.useRefreshes) + f.moves) * UNITS.itemWru + f.indexWrites)
  costs.push({ platform: f.platform, mode: f.mode, rru, wru, usd: (30 * (rru * PRICE.rruPerMillion + wru * PRICE.wruPerMillion) / 1e6).toFixed(2) })
}

const header = ['platform', 'mode', 'refreshes/day', 'by cron', 'on use', 'peak refreshes/s', 'index writes/s/partition (peak)', 'index writes/day', 'run: index entries + items read/day', 'route reads/day', 'lapsed', 'grants lost', 'use calls capped', 'use failed', 'backlog: cap', 'backlog: budget']
process.stdout.write(`# ${N} accounts per platform, ${HOURS} h after a 24 h warm-up, ${Math.round(ACTIVE_SHARE * 100)} % in active use (a call every ${USE_INTERVAL_S / 60} min), ${CONCURRENCY} provider calls in flight at ${LATENCY_MS} ms each, ${RUNNERS} runner(s) per pass\n`)
process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`)
const t0 = performance.now()
for (const name of String(args.platforms).split(',')) {
  const lifetime = LIFETIMES[name]
  const spec = PLATFORM_SPECS.find((p) => p.name === name)
  if (lifetime === undefined || spec === undefined) throw new Error(`unknown platform ${name}`)
  for (const mode of String(args.modes).split(',') as RefreshMode[]) {
    const f = await simulate(name, spec, lifetime, mode)
    const perDay = (x: number): number => Math.round(x * 24 / HOURS)
    const row = [name, mode, perDay(f.cronRefreshes + f.useRefreshes), perDay(f.cronRefreshes), perDay(f.useRefreshes), f.peakPerSec, f.peakIndexWritesPerSec, perDay(f.indexWrites), perDay(f.indexEntriesRead + f.itemsRead), perDay(f.routeReads), f.lapsed, f.grantsLost, f.useCapped, f.useFailed, f.capDeferred, f.budgetDeferred]
    process.stdout.write(`| ${row.join(' | ')} |\n`)
    cost(f, perDay)
  }
}
process.stdout.write(`\n# DynamoDB per day and a 30-day month at on-demand prices (assumed, us-east-1: $${PRICE.rruPerMillion} per million RRU, $${PRICE.wruPerMillion} per million WRU; https://aws.amazon.com/dynamodb/pricing/on-demand/)\n`)
process.stdout.write(`# units: item read ${UNITS.itemRru} RRU (consistent, <= 4 KB), index entry ${UNITS.entryRru} RRU (KEYS_ONLY, eventually consistent), route read ${UNITS.routeRru} RRU, base-table write ${UNITS.itemWru} WRU (an item of 1-2 KB), index write 1 WRU (each counted above)\n`)
process.stdout.write('| platform | mode | RRU/day | WRU/day | $/month |\n|---|---|---|---|---|\n')
for (const c of costs) process.stdout.write(`| ${c.platform} | ${c.mode} | ${c.rru} | ${c.wru} | ${c.usd} |\n`)
process.stderr.write(`# simulated in ${Math.round((performance.now() - t0) / 1000)} s\n`)
