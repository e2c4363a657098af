// A run killed with SIGKILL half-way (its lock and claims left behind): calls are skipped until the
// lease ends, then a run takes over and no token stays claimed. The killed instance is a real child
// process running the real app; its provider calls go to a black hole so it dies mid-call.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createCipher } from '../../src/store/crypto.js'
import { lockLeaseMs } from '../../src/config.js'
import { createLock } from '../../src/store/lock.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, testEnv } from '../helper.js'
import { manualClock, seedTokens, waitFor } from '../helpers/refresh.js'
import { CHILD_ENV_BASE } from '../helpers/child-env.js'

const SECRET = 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc'
const headers = { 'x-cron-secret': SECRET }

/** The real app in a child process, listening on a free port; resolves with its URL. */
async function startChild (env: Record<string, string | undefined>): Promise<{ child: ChildProcess, url: string }> {
  const src = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href
  const code = `
    import Fastify from 'fastify'
    const { default: app } = await import(${JSON.stringify(src('app.ts'))})
    const { loadConfig } = await import(${JSON.stringify(src('config.ts'))})
    const { serverOptions } = await import(${JSON.stringify(src('server-options.ts'))})
    const config = loadConfig(process.env)
    const server = Fastify(serverOptions(config))
    await server.register(app, { config })
    await server.listen({ port: 0, host: '127.0.0.1' })
    process.stdout.write(JSON.stringify({ port: server.server.address().port }) + '\\n')
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...CHILD_ENV_BASE, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port))
    child.once('exit', (code) => reject(new Error(`child exited (${code}): ${stderr}`)))
  })
  return { child, url: `http://127.0.0.1:${port}` }
}

t.test('a run killed with SIGKILL half-way: skipped until the lease ends, then taken over, nothing stuck', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)

  // The black hole accepts the provider calls of the doomed run and never answers.
  const held = new Set<Socket>()
  const blackHole = createServer((socket) => { held.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of held) s.destroy()
    await new Promise<void>((resolve) => blackHole.close(() => resolve()))
  })
  const blackHoleUrl = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}/api/v1/access_token`

  const env = testEnv({ TOKENS_TABLE: table.name, CRON_SECRET: SECRET, ...reddit.env(), REFRESH_RUN_BUDGET_MS: '5000', PROVIDER_TIMEOUT_MS: '60000', CRON_RESPONSE_BUDGET_MS: '300' })
  const config = loadConfig(env)
  const clock = manualClock()
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: clock.now })
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 1, now: clock.now })
  const seeded = await seedTokens(store, reddit, 6, { expiresInMs: 10 * 60_000, now: clock.now })

  const { child, url } = await startChild({ ...env, REDDIT_REFRESH_URL: blackHoleUrl, LOG_LEVEL: 'silent' })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const first = await (await fetch(`${url}/api/cron/refresh-oauth`, { headers })).json() as { runId: string, done: boolean }
  t.equal(first.done, false, 'the doomed run is still going when its call answers')
  await waitFor(() => held.size >= 4)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited

  const claimed = (await Promise.all(seeded.map(async (s) => await store.get({ userId: s.userId, platform: 'reddit' })))).filter((r) => r?.claimId !== undefined)
  t.ok(claimed.length >= 4, `the dead run left its claims behind (${claimed.length})`)
  t.equal((await lock.status()).runId, first.runId, 'and its lock')

  // A healthy instance, same table and configuration, real provider.
  const app = await buildApp(t, { config, clock: clock.now })
  const skipped = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth', headers })
  t.match(skipped.json(), { ok: true, skipped: true, reason: 'locked', lockedBy: first.runId })
  const leaseMs = lockLeaseMs(config.run.runBudgetMs, config.run.providerTimeoutMs)
  clock.advance(leaseMs - 15_000)
  t.match((await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth', headers })).json(), { skipped: true }, 'still skipped just before the lease ends')

  clock.advance(16_000)
  const takeover = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth?wait=true', headers })
  t.equal(takeover.statusCode, 200)
  t.match(takeover.json(), { ok: true, skipped: false, done: true, refreshed: 6, failed: 0, needsReauth: 0 })
  for (const token of seeded) {
    const record = await store.get({ userId: token.userId, platform: 'reddit' })
    t.equal(record?.claimId, undefined, `${token.userId} not stuck claimed`)
    t.ok((record?.expiresAtMs ?? 0) > clock.now() + 3_600_000, `${token.userId} refreshed`)
    t.equal(reddit.timesPresented(token.refreshToken ?? ''), 1, 'presented once, by the run that took over')
  }
  t.match((await lock.status()), { held: false, lastRun: { runId: takeover.json().runId } })
})
