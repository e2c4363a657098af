// Test plumbing for the cron refresh: a clock tests move by hand, tokens seeded as connected accounts
// whose grants a fake provider knows, and a TCP proxy in front of DynamoDB Local that a test can cut
// (the store stops answering on the real wire, mid-run).
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import type { Platform } from '../../src/platforms/platform.js'
import { createProviderHttp } from '../../src/platforms/provider-http.js'
import { PLATFORM_MODULES } from '../../src/platforms/registry.js'
import type { RunOptions } from '../../src/refresh/run.js'
import { createFleetBudget, type FleetBudget } from '../../src/budget/fleet-budget.js'
import { createBudgetStore } from '../../src/store/budget-store.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore, type TokenStore } from '../../src/store/token-store.js'
import type { OAuthFake } from '../fakes/oauth-fake.js'
import { createTestTable, testEnv, type Env, type TestTable } from '../helper.js'

export interface ManualClock {
  readonly now: () => number
  advance (ms: number): void
}

/** Wall time plus an offset the test moves forward (leases, claims and expiries all read it). */
export function manualClock (offsetMs = 0): ManualClock {
  let offset = offsetMs
  return { now: () => Date.now() + offset, advance: (ms) => { offset += ms } }
}

export interface SeededToken {
  readonly userId: string
  readonly accessToken: string
  readonly refreshToken?: string | undefined
}

/** `count` connected accounts of `fake`'s platform, each expiring `expiresInMs` from the store's now. */
export async function seedTokens (
  store: TokenStore, fake: OAuthFake, count: number, options: { expiresInMs: number, now: () => number, prefix?: string }
): Promise<SeededToken[]> {
  const seeded: SeededToken[] = []
  const batch = async (i: number): Promise<void> => {
    const userId = `${options.prefix ?? 'user'}-${i}`
    const grant = fake.seedGrant({ id: `acct-${i}`, username: `name_${i}` })
    await store.saveConnection({
      userId,
      platform: fake.platform,
      account: { id: `acct-${i}`, username: `name_${i}` },
      scopes: ['identity'],
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresAtMs: options.now() + options.expiresInMs
    })
    seeded.push({ userId, accessToken: grant.accessToken, refreshToken: grant.refreshToken })
  }
  for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => batch(i + j)))
  return seeded.sort((a, b) => a.userId.localeCompare(b.userId))
}

export interface CuttableProxy {
  readonly endpoint: string
  /** Drops every open connection and refuses new ones (connection reset / refused on the wire). */
  cut (): void
  restore (): void
}

/** A TCP proxy on 127.0.0.1 in front of `target` (http://host:port); closed at teardown. */
export async function cuttableProxy (t: Test, target: string): Promise<CuttableProxy> {
  const { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  let open = true
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = connect(Number(port), hostname)
    sockets.add(client)
    sockets.add(upstream)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut () {
      open = false
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore () { open = true }
  }
}

/** Polls `check` every 25 ms until it holds or `timeoutMs` passes. */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export interface CapturedLogger {
  readonly lines: Array<Record<string, unknown>>
  readonly text: string
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** A logger for domain modules (run, refresh-one) that keeps every line as JSON, to assert on. */
export function captureLogger (): CapturedLogger {
  const lines: Array<Record<string, unknown>> = []
  const at = (level: string) => (obj: object, msg: string): void => { lines.push({ level, ...JSON.parse(JSON.stringify(obj)), msg }) }
  return {
    lines,
    get text () { return lines.map((l) => JSON.stringify(l)).join('\n') },
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error')
  }
}

export interface RefreshSetup {
  readonly table: TestTable
  readonly config: Config
  readonly store: TokenStore
  readonly clock: ManualClock
  readonly log: CapturedLogger
  platformsFor (fake: OAuthFake, timeoutMs?: number): Platform[]
  /** The fleet's provider budget on this table, with the caps of `config` (one per setup). */
  readonly budget: FleetBudget
  options (platforms: Platform[], extra?: Partial<RunOptions>): RunOptions
}

/**
 * A token store on a table of its own, platforms built on the fakes, and startRun() options: the
 * harness of the run and fault tests. `env` points platforms at fakes (`fake.env()`).
 */
export async function refreshSetup (t: Test, env: Env): Promise<RefreshSetup> {
  const table = await createTestTable(t)
  const clock = manualClock()
  const config = loadConfig(testEnv({ TOKENS_TABLE: table.name, ...env }))
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: clock.now })
  const log = captureLogger()
  let n = 0
  const platformConfigs: Readonly<Record<string, Platform['config']>> = config.platforms
  const budget = createFleetBudget({
    store: createBudgetStore({ doc: table.dynamo.doc, table: table.name }),
    caps: (name) => ({ perMinute: platformConfigs[name]?.requestsPerMinute, cronPerMinute: platformConfigs[name]?.cronRequestsPerMinute }),
    now: clock.now,
    log
  })
  return {
    table,
    config,
    store,
    clock,
    log,
    budget,
    platformsFor (fake, timeoutMs = 5_000) {
      const module = PLATFORM_MODULES.find((m) => m.spec.name === fake.platform)
      if (module === undefined) throw new Error(fake.platform)
      return [module.create(config.platforms[module.spec.name], createProviderHttp({ timeoutMs, now: clock.now }))]
    },
    options: (platforms, extra = {}) => ({
      runId: `run-${++n}`,
      store,
      platforms,
      now: clock.now,
      log,
      runBudgetMs: 30_000,
      lapseMarginMs: config.run.intervalMs + config.run.runBudgetMs,
      claimLeaseMs: 6_000,
      retentionDays: 30,
      ...extra
    })
  }
}
