// Drives the compose stack as its users do, for scripts/test-compose.sh (which has built the image,
// written docker/dev.env and named the compose command in COMPOSE_CMD): plain HTTP from the host to
// the published ports, and `docker` for what operators do to containers. Each step prints its wall
// time; the first failed check throws and the script exits non-zero.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

const APP = 'http://127.0.0.1:3000'
const APP2 = 'http://127.0.0.1:3001'
/** What the browser's pages are, for the cross-site checks (APP_URL and the sandbox base in dev.env). */
const BROWSER_ORIGIN = 'http://localhost:3000'
const PLATFORMS = ['instagram', 'tiktok', 'reddit', 'threads'] as const
/** Rotating refresh tokens, inside their window from the first run on (sandbox tokens live 10 min). */
const ROTATING = ['tiktok', 'reddit'] as const
const USERS = ['ada', 'grace', 'linus'] as const

type Platform = typeof PLATFORMS[number]
type Json = Record<string, unknown>

const composeCmd = (process.env.COMPOSE_CMD ?? 'docker-compose').split(' ')
const env = Object.fromEntries(readFileSync('docker/dev.env', 'utf8').split('\n')
  .filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
const CRON = { 'x-cron-secret': env.CRON_SECRET ?? '' }
const INTERNAL = { authorization: `Bearer ${(env.INTERNAL_API_KEY ?? '').split(',')[0] ?? ''}` }

function log (message: string): void {
  process.stdout.write(`test-compose: ${message}\n`)
}

function check (ok: boolean, what: string, detail: unknown = ''): void {
  if (!ok) throw new Error(`check failed: ${what}${detail === '' ? '' : `\n${typeof detail === 'string' ? detail : JSON.stringify(detail, null, 2)}`}`)
  log(`  ok: ${what}`)
}

async function step<T> (name: string, fn: () => Promise<T>): Promise<T> {
  log(`step: ${name} ...`)
  const started = performance.now()
  const result = await fn()
  const ms = performance.now() - started
  log(`step ${name.padEnd(34)} ${(ms / 1000).toFixed(1).padStart(8)} s`)
  return result
}

function compose (...args: string[]): string {
  const [command = 'docker-compose', ...rest] = composeCmd
  const res = spawnSync(command, [...rest, ...args], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`${composeCmd.join(' ')} ${args.join(' ')} exited ${res.status}:\n${res.stderr}`)
  return res.stdout
}

const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8' }).trim()
const containerOf = (service: string): string => compose('--profile', 'second', 'ps', '-q', service).trim()

async function http (url: string, init: RequestInit = {}): Promise<{ status: number, body: Json, text: string, headers: Headers }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(30_000), ...init })
  const text = await res.text()
  let body: Json = {}
  try { body = JSON.parse(text) as Json } catch {}
  return { status: res.status, body, text, headers: res.headers }
}

async function waitFor (what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Date.now() - started
    await sleep(250)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

const ready = async (base: string): Promise<boolean> => (await http(`${base}/readyz`)).status === 200

/** The development sign-in, as the /dev console's form posts it: the session JWT. */
async function signIn (name: string): Promise<{ jwt: string, sub: string }> {
  const res = await http(`${APP}/dev/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: BROWSER_ORIGIN },
    body: new URLSearchParams({ name })
  })
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('dev_session='))
  // A signed cookie: the JWT, then the cookie signature as a fourth dot-separated part.
  const jwt = decodeURIComponent(cookie?.slice('dev_session='.length).split(';')[0] ?? '').split('.').slice(0, 3).join('.')
  if (res.status !== 303 || jwt === '') throw new Error(`sign-in answered ${res.status}: ${res.text}`)
  const sub = String((JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown }).sub)
  return { jwt, sub }
}

/** /api/auth/:platform → the sandbox's consent page → Allow → the callback, with the browser's cookies. */
async function connect (jwt: string, platform: Platform): Promise<void> {
  const jar = new Map<string, string>()
  const keep = (headers: Headers): void => {
    for (const c of headers.getSetCookie()) {
      const [pair = ''] = c.split(';')
      jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1))
    }
  }
  const cookies = (): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  const start = await http(`${APP}/api/auth/${platform}`, { headers: { authorization: `Bearer ${jwt}` } })
  if (start.status !== 302) throw new Error(`${platform}: start answered ${start.status}: ${start.text}`)
  keep(start.headers)
  const authorize = new URL(start.headers.get('location') ?? '')
  const page = await http(authorize.href)
  if (page.status !== 200) throw new Error(`${platform}: consent page answered ${page.status}: ${page.text}`)
  const action = /<form[^>]*action="([^"]+)"/.exec(page.text)?.[1]?.replaceAll('&amp;', '&') ?? authorize.pathname
  const fields = Object.fromEntries([...page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)]
    .map((m) => [m[1] ?? '', (m[2] ?? '').replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#39;', '\'').replaceAll('&amp;', '&')]))
  const consent = await http(new URL(action, authorize).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: authorize.origin, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ ...fields, decision: 'allow' })
  })
  if (consent.status !== 302) throw new Error(`${platform}: consent answered ${consent.status}: ${consent.text}`)
  const back = new URL(consent.headers.get('location') ?? '')
  const done = await http(`${APP}${back.pathname}${back.search}`, { headers: { cookie: cookies() } })
  if (done.status !== 302 || !(done.headers.get('location') ?? '').includes('connected')) {
    throw new Error(`${platform}: callback answered ${done.status} → ${done.headers.get('location') ?? ''}: ${done.text}`)
  }
}

async function statuses (jwt: string): Promise<Record<Platform, { status: string, lastRefreshedAt?: string }>> {
  const res = await http(`${APP}/api/platforms/status`, { headers: { authorization: `Bearer ${jwt}` } })
  if (res.status !== 200) throw new Error(`status answered ${res.status}: ${res.text}`)
  return res.body.platforms as Record<Platform, { status: string, lastRefreshedAt?: string }>
}

interface Run { ok: boolean, skipped: boolean, done?: boolean, refreshed?: number, skippedTokens?: number, failed?: number, needsReauth?: number, deferred?: number, partial?: boolean, runId: string, lockedBy?: string | null, results?: Array<{ platform: string, refreshed: number, failed: number, needsReauth: number }> }

/**
 * A cron call as a scheduler makes it: a 503 store_unavailable (DynamoDB Local slower than the SDK's
 * timeouts on a loaded machine) is tried again, as EventBridge retries, and said so.
 */
async function cron (base: string): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    const res = await http(`${base}/api/cron/refresh-oauth?wait=true`, { headers: CRON })
    if (res.status === 200) return res.body as unknown as Run
    if (res.status !== 503 || res.body.error !== 'store_unavailable' || attempt === 3) throw new Error(`cron at ${base} answered ${res.status}: ${res.text}`)
    log(`  (cron at ${base} answered 503 store_unavailable; a scheduler retries: attempt ${attempt + 1})`)
    await sleep(1_000)
  }
}

/** The internal route; a 503 store_unavailable (a loaded DynamoDB Local) is tried again, as callers do. */
async function internalRead (base: string, sub: string, platform: string, force = false): Promise<{ status: number, text: string, body: Json }> {
  for (let attempt = 1; ; attempt++) {
    const res = await http(`${base}/api/internal/tokens/${encodeURIComponent(sub)}/${platform}${force ? '?force=true' : ''}`, { headers: INTERNAL })
    if (res.status !== 503 || res.body.error !== 'store_unavailable' || attempt === 3) return res
    log(`  (internal route at ${base} answered 503 store_unavailable; trying again)`)
    await sleep(1_000)
  }
}

const refreshedOf = (run: Run, platform: string): number => run.results?.find((r) => r.platform === platform)?.refreshed ?? 0

async function failNext (platform: Platform, kind: 'timeout'): Promise<void> {
  const res = await http(`${APP}/sandbox/${platform}/fail-next`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ kind }) })
  if (res.status !== 204) throw new Error(`fail-next answered ${res.status}: ${res.text}`)
}

async function everyConnected (jwts: readonly string[], what: string): Promise<void> {
  const all = await Promise.all(jwts.map(statuses))
  const bad = all.flatMap((s, i) => PLATFORMS.filter((p) => s[p].status !== 'connected').map((p) => `${USERS[i] ?? i}/${p}: ${s[p].status}`))
  check(bad.length === 0, `${what}: all ${jwts.length * PLATFORMS.length} connections connected`, bad.join('\n'))
}

async function main (): Promise<void> {
  await step('up (first start)', async () => {
    compose('up', '-d', 'oauth-refresher')
    const readyMs = await waitFor('/readyz on :3000', 120_000, async () => await ready(APP))
    log(`  /readyz 200 after ${readyMs} ms`)
    const service = containerOf('oauth-refresher')
    const logs = spawnSync('docker', ['logs', service], { encoding: 'utf8' })
    const output = `${logs.stdout}${logs.stderr}`
    check(docker('inspect', '-f', '{{.RestartCount}}', service) === '0', 'no restart on the first up (it waited for DynamoDB)')
    check(!/start-up failed|FATAL/.test(output), 'no start-up failure in the logs', output)
    check(!/\bWARN\b|"level":40/.test(output), 'a start with the defaults warns about nothing', output)
    check(docker('exec', service, 'id', '-u') === '1000', 'the service runs as uid 1000')
    check(docker('inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', service) === 'true', 'the root filesystem is read-only')
    check(spawnSync('docker', ['exec', service, 'touch', '/app/dist/x']).status !== 0, 'the code cannot be written')
    check(spawnSync('docker', ['exec', service, 'touch', '/app/.data/x']).status === 0, 'the tmpfs at /app/.data can')
    const healthyMs = await waitFor('the compose healthcheck', 60_000, async () => docker('inspect', '-f', '{{.State.Health.Status}}', service) === 'healthy')
    log(`  compose healthcheck (/readyz) healthy after ${healthyMs} ms more`)
    const health = await http(`${APP}/healthz`)
    check(health.status === 200, '/healthz 200')
  })

  const users = await step('connect every platform (sandbox)', async () => {
    const signedIn = []
    for (const name of USERS) {
      const user = await signIn(name)
      for (const platform of PLATFORMS) await connect(user.jwt, platform)
      signedIn.push(user)
    }
    await everyConnected(signedIn.map((u) => u.jwt), 'after the connect flows')
    return signedIn
  })
  const jwts = users.map((u) => u.jwt)
  const rotatingCount = USERS.length * ROTATING.length

  await step('cron run refreshes them', async () => {
    const run = await cron(APP)
    check(run.ok && !run.skipped && run.done === true, 'a run started and finished', run)
    check(run.refreshed === rotatingCount && run.failed === 0 && run.needsReauth === 0, `${rotatingCount} refreshed (tiktok, reddit), none failed`, run)
  })

  const instagramToken = await step('internal route hands out a token', async () => {
    const user = users[0]
    const res = await http(`${APP}/api/internal/tokens/${encodeURIComponent(user?.sub ?? '')}/instagram`, { headers: INTERNAL })
    check(res.status === 200 && typeof res.body.accessToken === 'string', 'GET /api/internal/tokens/:userId/instagram → 200 with a token', res.text)
    const refused = await http(`${APP}/api/internal/tokens/${encodeURIComponent(user?.sub ?? '')}/instagram`)
    check(refused.status === 401, 'without the key: 401')
    return String(res.body.accessToken)
  })

  await step('second instance, one DynamoDB', async () => {
    compose('--profile', 'second', 'up', '-d', 'oauth-refresher-2')
    const readyMs = await waitFor('/readyz on :3001', 120_000, async () => await ready(APP2))
    log(`  second instance ready after ${readyMs} ms`)
    // Cron on both at once, while the internal route is read on both (one reader per instance, each
    // forcing a refresh of every rotating token in turn): a token is refreshed by whoever claims it.
    const reader = async (base: string): Promise<Array<{ status: number, text: string }>> => {
      const answers = []
      for (const u of users) for (const p of ROTATING) answers.push(await internalRead(base, u.sub, p, true))
      return answers
    }
    const [a, b, ...perInstance] = await Promise.all([cron(APP), cron(APP2), reader(APP), reader(APP2)])
    const runs = [a, b] as Run[]
    const handouts = (perInstance as Array<Array<{ status: number, text: string }>>).flat()
    const started = runs.filter((r) => !r.skipped)
    check(started.length >= 1, 'one run holds the lock; a racing call is skipped or runs after it', runs)
    // A refresh token presented twice is refused by the sandbox: needs_reauth. A run that lost a token's
    // claim to a forced read counts it failed (lost_claim) and leaves it for the next run: said, not fatal.
    check(runs.every((r) => r.skipped || r.needsReauth === 0), 'no run lost a token to needs_reauth', runs)
    for (const r of runs) if (!r.skipped && (r.failed ?? 0) > 0) log(`  note: a racing run counted ${r.failed ?? 0} failed (a claim lost to a forced read; the next run takes it)`)
    check(handouts.every((h) => h.status === 200), `all ${handouts.length} internal reads on both instances answered 200`, handouts.map((h) => `${h.status} ${h.text}`).join('\n'))
    // A refresh token presented twice is refused by the sandbox (rotation): the second presenter would
    // mark the connection needs_reauth. Every connection connected, and a further run refreshing every
    // rotating one, prove each stored refresh token is the live one.
    await everyConnected(jwts, 'after the race')
    const after = await cron(APP2)
    // A token just refreshed by a forced read may be left to use (not past half its life): skipped, not lost.
    check(after.failed === 0 && after.needsReauth === 0 && (after.refreshed ?? 0) + (after.skippedTokens ?? 0) === rotatingCount && (after.refreshed ?? 0) > 0,
      `a run on the second instance refreshes the ${rotatingCount} rotating tokens with what is stored (refreshed ${after.refreshed ?? 0}, left to use ${after.skippedTokens ?? 0}), none refused`, after)
  })

  await step('docker kill mid-run', async () => {
    // A held Reddit refresh (timeout) keeps the second instance's run going; Reddit goes one at a time.
    await failNext('reddit', 'timeout')
    const killedAt = new Date()
    const pending = cron(APP2).catch((err: unknown) => err)
    await sleep(1_000)
    docker('kill', containerOf('oauth-refresher-2'))
    await pending
    const skipped = await cron(APP)
    check(skipped.skipped, 'the dead run still holds the lock: the next call is skipped until its lease ends', skipped)
    let takeover: Run | undefined
    const waitedMs = await waitFor('the lock lease to end', 90_000, async () => {
      const run = await cron(APP)
      if (run.skipped) { await sleep(2_000); return false }
      takeover = run
      return true
    })
    log(`  a run took over after ${waitedMs} ms`)
    check(takeover !== undefined && takeover.failed === 0 && takeover.needsReauth === 0 && refreshedOf(takeover, 'reddit') === USERS.length,
      `the next run refreshes the ${USERS.length} Reddit tokens the killed run left`, takeover)
    const all = await Promise.all(jwts.map(statuses))
    check(all.every((s) => s.reddit.status === 'connected' && Date.parse(s.reddit.lastRefreshedAt ?? '') > killedAt.getTime()), 'every Reddit connection refreshed after the kill', all)
  })

  await step('DynamoDB stopped and back', async () => {
    const dynamodb = containerOf('dynamodb')
    docker('stop', dynamodb)
    const downMs = await waitFor('/readyz 503', 30_000, async () => (await http(`${APP}/readyz`)).status === 503)
    const readyz = await http(`${APP}/readyz`)
    check(readyz.status === 503 && readyz.body.ok === false && typeof readyz.body.error === 'string', `/readyz 503 in the contract's shape (after ${downMs} ms)`, readyz.text)
    check((await http(`${APP}/healthz`)).status === 200, '/healthz still 200 (liveness: no restart for a store outage)')
    docker('start', dynamodb)
    const backMs = await waitFor('/readyz 200 again', 60_000, async () => await ready(APP))
    check(true, `/readyz 200 again ${backMs} ms after DynamoDB Local started`)
    const run = await cron(APP)
    check(!run.skipped && run.failed === 0 && run.needsReauth === 0, 'a run after the outage succeeds', run)
  })

  await step('docker stop during a cron run', async () => {
    await failNext('reddit', 'timeout')
    const pending = http(`${APP}/api/cron/refresh-oauth?wait=true`, { headers: CRON }).catch((err: unknown) => err)
    // The run is held by the hung Reddit call (PROVIDER_TIMEOUT_MS, 10 s): the service finishes that
    // call before it exits (a rotated refresh token must not be lost), so the stop waits for what is
    // left of it. 3 s in, the run is still going and the rest fits well inside docker's 10 s.
    await sleep(3_000)
    const service = containerOf('oauth-refresher')
    const stopping = performance.now()
    docker('stop', '-t', '10', service)
    const stopMs = performance.now() - stopping
    const code = docker('inspect', '-f', '{{.State.ExitCode}}', service)
    check(code === '0' && stopMs < 10_000, `exit code 0 in ${Math.round(stopMs)} ms (under 10 s)`, { code, stopMs })
    await pending
    compose('up', '-d', 'oauth-refresher')
    await waitFor('/readyz after the restart', 120_000, async () => await ready(APP))
    const last = await http(`${APP}/api/cron/refresh-oauth/last`, { headers: CRON })
    const lastRun = last.body.lastRun as { partial?: boolean, error?: string } | null
    check(lastRun?.partial === true, 'the interrupted run is recorded as partial', last.body)
    check(!(last.body.lock as { held?: boolean }).held, 'and its lock was released on the way out', last.body)
  })

  // The sandbox keeps what it issued in the first instance's memory, which a restart forgets: every
  // refresh comes before the restarts, and after them only what is stored is read.
  await step('down + up keeps connections', async () => {
    compose('--profile', 'second', 'down')
    compose('up', '-d', 'oauth-refresher')
    await waitFor('/readyz after up', 120_000, async () => await ready(APP))
    const again = await Promise.all(USERS.map(signIn))
    await everyConnected(again.map((u) => u.jwt), 'after down + up')
    const res = await http(`${APP}/api/internal/tokens/${encodeURIComponent(users[0]?.sub ?? '')}/instagram`, { headers: INTERNAL })
    check(res.status === 200 && res.body.accessToken === instagramToken, 'the stored token decrypts to the same access token', res.status)
  })

  await step('image HEALTHCHECK, read-only root', async () => {
    // The image's own HEALTHCHECK (compose's replaces it), with the interval shortened to see it pass.
    const network = docker('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', containerOf('oauth-refresher'))
    const id = docker('run', '-d', '--rm', '--read-only', '--tmpfs', '/app/.data:uid=1000,gid=1000,mode=0700', '--tmpfs', '/tmp',
      '--network', network, '--env-file', 'docker/dev.env', '-e', 'NODE_ENV=development', '-e', 'DYNAMODB_ENDPOINT=http://dynamodb:8000',
      '-e', 'AWS_REGION=us-east-1', '--health-interval', '2s', '--health-start-period', '1s', 'oauth-refresher:local')
    try {
      const ms = await waitFor('the image HEALTHCHECK', 60_000, async () => docker('inspect', '-f', '{{.State.Health.Status}}', id) === 'healthy')
      check(true, `the image's HEALTHCHECK (/healthz) passes (${ms} ms), with --read-only and a tmpfs at /app/.data`)
    } finally {
      spawnSync('docker', ['rm', '-f', id])
    }
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`test-compose: FAILED: ${err instanceof Error ? err.message : String(err)}\n`)
  for (const service of ['oauth-refresher', 'oauth-refresher-2', 'dynamodb']) {
    const id = spawnSync(composeCmd[0] ?? 'docker-compose', [...composeCmd.slice(1), '--profile', 'second', 'ps', '-q', service], { encoding: 'utf8' }).stdout.trim()
    if (id !== '') process.stderr.write(`--- last logs of ${service}:\n${spawnSync('docker', ['logs', '--tail', '40', id], { encoding: 'utf8' }).stdout}\n`)
  }
  process.exit(1)
})
