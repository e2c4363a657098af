// The real process (`node --import tsx src/server.ts`, what `npm start` runs): production start and
// clean SIGTERM, configuration errors, and development mode with its embedded DynamoDB Local, whose
// java process must die with the server however the server dies.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import t, { type Test } from 'tap'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import { dynamoEndpoint, type Env } from './helper.js'

const ROOT = new URL('..', import.meta.url).pathname
const CANARY = `CANARY${randomUUID().slice(0, 8)}`

interface Running {
  readonly child: ChildProcess
  readonly port: number
  readonly output: () => { stdout: string, stderr: string }
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts the server with exactly `env` (plus PATH/HOME), killed at teardown if still running. `npm`
 * runs `npm start` in its own process group, as a terminal would (Ctrl-C signals the whole group).
 */
async function startServer (t: Test, env: Env, via: 'node' | 'npm' = 'node'): Promise<Running> {
  const port = await freePort()
  const [command, args] = via === 'npm' ? ['npm', ['start']] as const : [process.execPath, ['--import', 'tsx', 'src/server.ts']] as const
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_NODE_SUPPRESS_NODE_VERSION_WARNING: '1', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: via === 'npm'
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(() => {
    if (child.exitCode !== null || child.signalCode !== null) return
    if (via === 'npm' && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    else child.kill('SIGKILL')
  })
  return { child, port, exited, output: () => ({ stdout, stderr }) }
}

async function waitReady (server: Running, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (server.child.exitCode !== null) throw new Error(`server exited ${server.child.exitCode}: ${server.output().stderr}${server.output().stdout}`)
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/readyz`, { signal: AbortSignal.timeout(2_000) })
      if (res.status === 200) return Date.now() - started
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${server.output().stderr}${server.output().stdout}`)
}

async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Pids of processes whose command line holds `text` (the java child's unique -dbPath). */
function pidsWith (text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return []
  }
}

async function goneWithin (text: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (pidsWith(text).length === 0) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return pidsWith(text).length === 0
}

async function portClosedWithin (port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) })
    } catch {
      return true
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

const productionEnv = (table: string): Env => ({
  NODE_ENV: 'production',
  DYNAMODB_ENDPOINT: dynamoEndpoint(),
  TOKENS_TABLE: table,
  COOKIE_SECRET: `${CANARY}-cookie-secret-0123456789abcdef`,
  TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'),
  CRON_SECRET: `${CANARY}-cron-secret`,
  INTERNAL_API_KEY: `${CANARY}-internal-key`,
  APP_URL: 'https://app.example.test',
  COGNITO_USER_POOL_ID: 'us-east-1_Test123',
  COGNITO_CLIENT_ID: 'test-client'
})

t.test('npm-start-sigterm-orphaned-the-server: production `npm start` serves /readyz, and SIGTERM to npm stops it promptly', async (t) => {
  const table = `server-${randomUUID().slice(0, 8)}`
  t.teardown(async () => {
    const { client } = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
    client.destroy()
  })
  const env = productionEnv(table)
  const server = await startServer(t, env, 'npm')
  const readyMs = await waitReady(server, 30_000)
  t.pass(`ready in ${readyMs} ms`)
  const health = await fetch(`http://127.0.0.1:${server.port}/healthz`)
  t.equal(health.status, 200)
  // SIGTERM to npm's pid alone (a supervisor, not a terminal). When `start` ran the server under
  // `sh -c`, npm and sh died and the server went on serving, orphaned; `exec` makes npm signal it.
  const stopping = Date.now()
  server.child.kill('SIGTERM')
  const exit = await within(server.exited, 10_000, 'exit after SIGTERM')
  t.same(exit, { code: 0, signal: null }, `exit 0 after ${Date.now() - stopping} ms`)
  t.ok(await portClosedWithin(server.port, 5_000), 'the server itself is gone, not only npm')
  t.match(server.output().stdout, /"signal":"SIGTERM","msg":"shutting down"/, 'a graceful shutdown')
  const { stdout, stderr } = server.output()
  t.match(stdout, /"msg":"table ready"/)
  t.notOk(stdout.includes(CANARY) || stderr.includes(CANARY), 'no secret in the output')
  t.notOk(stdout.includes(env.TOKEN_ENCRYPTION_KEY?.slice(3) ?? 'x'), 'no key material in the output')
})

t.test('production with missing and bad variables: exit 1, one line naming every one, no value', async (t) => {
  const env = {
    ...productionEnv('unused-table'),
    COOKIE_SECRET: undefined,
    APP_URL: `${CANARY}-not-a-url`,
    TOKEN_ENCRYPTION_KEY: `k1:${CANARY}`,
    PORT: `${CANARY}`,
    COGNITO_CLIENT_ID: undefined
  }
  const server = await startServer(t, env as Env)
  const exit = await within(server.exited, 20_000, 'exit on bad configuration')
  t.same(exit, { code: 1, signal: null })
  const { stdout, stderr } = server.output()
  const lines = `${stdout}${stderr}`.split('\n').filter((l) => l.trim() !== '')
  t.equal(lines.length, 1, 'one line')
  for (const name of ['COOKIE_SECRET', 'APP_URL', 'TOKEN_ENCRYPTION_KEY', 'PORT', 'COGNITO_CLIENT_ID']) {
    t.ok(lines[0]?.includes(name), `names ${name}`)
  }
  t.notOk(lines.join('\n').includes(CANARY), 'no value echoed')
  t.match(JSON.parse(lines[0] ?? '{}'), { level: 60, msg: /^Invalid configuration: / })
})

t.test('development without DYNAMODB_ENDPOINT: embedded DynamoDB Local that dies with the server', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oauth-refresher-dev-'))
  const dbPath = join(dataDir, 'dynamodb')
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env: Env = { LOCAL_DATA_DIR: dataDir, LOG_LEVEL: 'info' }

  // First start: SIGKILL the server, the kernel kills java (pdeathsig).
  const first = await startServer(t, env)
  const readyMs = await waitReady(first, 60_000)
  t.pass(`first start ready in ${readyMs} ms`)
  t.equal(pidsWith(dbPath).length, 1, 'one java process on this data dir')
  const secretsFile = join(dataDir, 'dev-secrets.json')
  t.equal(statSync(secretsFile).mode & 0o777, 0o600, 'secrets file is private')
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>
  t.same(Object.keys(secrets).sort(), ['COOKIE_SECRET', 'CRON_SECRET', 'INTERNAL_API_KEY', 'TOKEN_ENCRYPTION_KEY'])
  first.child.kill('SIGKILL')
  await first.exited
  t.ok(await goneWithin(dbPath, 5_000), 'java is gone after the server was SIGKILLed')
  for (const value of Object.values(secrets)) t.notOk(first.output().stdout.includes(value), 'no generated secret printed')

  // Second start on the same data, through `npm start`: the same secrets, and Ctrl-C (SIGINT to the
  // whole process group: npm forwards it too, so the server gets it twice) stops both cleanly.
  const second = await startServer(t, env, 'npm')
  t.pass(`second start ready in ${await waitReady(second, 60_000)} ms`)
  t.same(JSON.parse(readFileSync(secretsFile, 'utf8')), secrets, 'secrets reused, not regenerated')
  process.kill(-(second.child.pid ?? 0), 'SIGINT')
  t.same(await within(second.exited, 15_000, 'exit after Ctrl-C'), { code: 0, signal: null })
  t.ok(await goneWithin(dbPath, 3_000), 'no java left after Ctrl-C')
  t.notMatch(second.output().stderr, /second/, 'the doubled Ctrl-C is one shutdown, not an abort')
  t.ok(await portClosedWithin(second.port, 3_000), 'the server is gone')
})
