// The real process (development mode, as docker-compose.yml runs it) stopped with SIGTERM in the middle
// of work, against a fake Reddit (a real HTTP server that outlives the service): during a cron run the
// process exits 0 within 10 s and the run is recorded as partial; during a connect the callback in
// flight is finished (the connection is stored) before it exits 0.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import t, { type Test } from 'tap'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import { RedditFake } from './fakes/reddit.js'
import { dynamoEndpoint, type Env } from './helper.js'
import { freePort, startServer, within, type Running } from './helpers/server-process.js'

interface Setup { readonly env: Env, readonly port: number, readonly base: string, readonly fake: RedditFake, readonly cron: Record<string, string> }

async function setUp (t: Test): Promise<Setup> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const table = `sigterm-${randomUUID().slice(0, 8)}`
  const dataDir = mkdtempSync(join(tmpdir(), 'oauth-refresher-sigterm-'))
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true })
    const { client } = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
    client.destroy()
  })
  // Tokens of 10 min: inside Reddit's window, so every run refreshes them.
  const fake = await RedditFake.start(t, { redirectUri: `http://localhost:${port}/api/auth/reddit/callback`, expiresInSec: 600 })
  const cronSecret = randomBytes(24).toString('base64url')
  const env: Env = {
    ...fake.env(),
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: String(port),
    LOCAL_DATA_DIR: dataDir,
    DYNAMODB_ENDPOINT: dynamoEndpoint(),
    AWS_REGION: 'us-east-1',
    TOKENS_TABLE: table,
    APP_URL: `http://localhost:${port}`,
    SANDBOX: 'off',
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'),
    CRON_SECRET: cronSecret,
    INTERNAL_API_KEY: randomBytes(24).toString('base64url'),
    PROVIDER_TIMEOUT_MS: '8000',
    REDDIT_REFRESH_CONCURRENCY: '1'
  }
  return { env, port, base, fake, cron: { 'x-cron-secret': cronSecret } }
}

async function start (t: Test, setup: Setup): Promise<Running> {
  const server = await startServer(t, setup.env)
  // startServer's own port is replaced by ours (PORT in env): wait on ours.
  const started = Date.now()
  while (Date.now() - started < 60_000) {
    if (server.child.exitCode !== null) throw new Error(`exited: ${server.output().stdout}${server.output().stderr}`)
    if ((await fetch(`${setup.base}/readyz`).then((r) => r.status, () => 0)) === 200) return server
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error('not ready within 60 s')
}

async function signIn (setup: Setup, name: string): Promise<string> {
  const res = await fetch(`${setup.base}/dev/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://localhost:${setup.port}` }, body: new URLSearchParams({ name }) })
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('dev_session=')) ?? ''
  // A signed cookie: the JWT, then the cookie's signature.
  return decodeURIComponent(cookie.slice('dev_session='.length).split(';')[0] ?? '').split('.').slice(0, 3).join('.')
}

/** GET /api/auth/reddit → the fake's consent → the callback URL (path and query) with the flow cookie. */
async function startConnect (setup: Setup, jwt: string): Promise<{ callback: string, cookie: string }> {
  const res = await fetch(`${setup.base}/api/auth/reddit`, { redirect: 'manual', headers: { authorization: `Bearer ${jwt}` } })
  if (res.status !== 302) throw new Error(`start answered ${res.status}`)
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const back = await setup.fake.authorize(res.headers.get('location') ?? '')
  return { callback: `${setup.base}${back.pathname}${back.search}`, cookie }
}

async function connect (setup: Setup, jwt: string): Promise<void> {
  const { callback, cookie } = await startConnect(setup, jwt)
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie } })
  if (done.status !== 302 || !(done.headers.get('location') ?? '').includes('connected')) throw new Error(`callback answered ${done.status} ${done.headers.get('location') ?? ''}`)
}

const redditStatus = async (setup: Setup, jwt: string): Promise<string> =>
  ((await (await fetch(`${setup.base}/api/platforms/status`, { headers: { authorization: `Bearer ${jwt}` } })).json()) as { platforms: { reddit: { status: string } } }).platforms.reddit.status

t.test('SIGTERM during a cron run: exit 0 within 10 s, the run recorded as partial, the lock released', async (t) => {
  const setup = await setUp(t)
  const first = await start(t, setup)
  for (const name of ['ada', 'grace', 'linus']) await connect(setup, await signIn(setup, name))
  // Each refresh takes 1.5 s and Reddit goes one at a time: the run is mid-way when the signal comes.
  setup.fake.latencyMs = 1_500
  const run = fetch(`${setup.base}/api/cron/refresh-oauth?wait=true`, { headers: setup.cron }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }), (err: unknown) => err)
  while (setup.fake.requestsTo('refresh').length === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  const stopping = Date.now()
  first.child.kill('SIGTERM')
  const exit = await within(first.exited, 10_000, 'exit after SIGTERM')
  t.same(exit, { code: 0, signal: null }, `exit 0 after ${Date.now() - stopping} ms`)
  const answered = await run
  t.match(answered, { status: 200, body: { done: true, partial: true, error: 'shutdown' } }, 'the call in flight is answered with the partial run')
  t.match(first.output().stdout, /INFO: shutting down .*"signal":"SIGTERM"/)
  t.match(first.output().stdout, /refresh run finished .*"partial":true.*"runError":"shutdown"/, 'the run ended as partial, for the shutdown')

  setup.fake.latencyMs = 0
  const second = await start(t, setup)
  const last = await (await fetch(`${setup.base}/api/cron/refresh-oauth/last`, { headers: setup.cron })).json() as { lock: { held: boolean }, lastRun: { partial: boolean } | null }
  t.equal(last.lastRun?.partial, true, 'the stored run is partial')
  t.equal(last.lock.held, false, 'and its lock was released')
  const next = await (await fetch(`${setup.base}/api/cron/refresh-oauth?wait=true`, { headers: setup.cron })).json() as { refreshed: number, failed: number, skipped: boolean }
  t.match(next, { skipped: false, failed: 0 }, 'the next run starts at once and takes what was left')
  t.ok(next.refreshed >= 1)
  second.child.kill('SIGTERM')
  t.same(await within(second.exited, 10_000, 'exit'), { code: 0, signal: null })
})

t.test('SIGTERM during a connect: the callback in flight completes, then exit 0', async (t) => {
  const setup = await setUp(t)
  const first = await start(t, setup)
  const jwt = await signIn(setup, 'ada')
  const { callback, cookie } = await startConnect(setup, jwt)
  // The code exchange takes 2 s at the provider: the signal arrives while it is in flight.
  setup.fake.latencyMs = 2_000
  const done = fetch(callback, { redirect: 'manual', headers: { cookie } })
  while (setup.fake.requestsTo('code').length === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  first.child.kill('SIGTERM')
  const res = await done
  t.equal(res.status, 302, 'the callback is answered')
  t.match(res.headers.get('location'), /connected/, 'with the connection made')
  t.same(await within(first.exited, 10_000, 'exit after SIGTERM'), { code: 0, signal: null })

  setup.fake.latencyMs = 0
  const second = await start(t, setup)
  t.equal(await redditStatus(setup, await signIn(setup, 'ada')), 'connected', 'the connection was stored before the exit')
  second.child.kill('SIGTERM')
  await within(second.exited, 10_000, 'exit')
})
