import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runOps } from '../../src/cli/ops.js'
import { LOCAL_STORE_FILE, readLocalStore, removeLocalStore, writeLocalStore } from '../../src/local-store-file.js'
import { createCipher } from '../../src/store/crypto.js'
import { createLock } from '../../src/store/lock.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { createWebhookOutbox } from '../../src/store/webhook-outbox.js'
import { locateStore, loadOpsConfig, NO_STORE_CONFIGURED } from '../../src/cli/ops-config.js'
import { createTestTable, dynamoEndpoint, testConfig } from '../helper.js'
import { CHILD_ENV_BASE } from '../helpers/child-env.js'

const MIN = 60_000

function io (env: Record<string, string | undefined>, now?: () => number) {
  const out: string[] = []
  const err: string[] = []
  return { out, err, io: { env, out: (l: string) => { out.push(l) }, err: (l: string) => { err.push(l) }, ...(now === undefined ? {} : { now }) } }
}

t.test('the CLI needs only what it uses from the environment', async (t) => {
  const config = loadOpsConfig({ TOKENS_TABLE: 'ops-table', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' })
  t.equal(config.tokensTable, 'ops-table')
  t.equal(config.aws.dynamodbEndpoint, 'http://127.0.0.1:8000')
  t.throws(() => loadOpsConfig({ TOKENS_TABLE: 'x' }), { name: 'ConfigError' }, 'a bad value is still refused')
})

t.test('lock status, guarded release, due and create-table against DynamoDB Local', async (t) => {
  const table = await createTestTable(t)
  const env = { TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: dynamoEndpoint(), AWS_REGION: 'us-east-1' }
  let nowMs = Date.now()
  const now = (): number => nowMs
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 10 * MIN, now })

  let r = io(env, now)
  t.equal(await runOps(['lock', 'status'], r.io), 0)
  t.same(r.out, [`table: ${table.name}`, 'lock: free', 'last run: none recorded'])

  await lock.acquire('run-1')
  r = io(env, now)
  t.equal(await runOps(['lock', 'status'], r.io), 0)
  t.match(r.out[1], /^lock: held by run run-1 since .+, lease ends .+ \(in 600 s\)$/)

  r = io(env, now)
  t.equal(await runOps(['lock', 'release', '--run-id', 'run-2'], r.io), 1, 'another run id is refused')
  t.same(r.out, ['not released: the lock is held by run run-1, not run-2'])
  r = io(env, now)
  t.equal(await runOps(['lock', 'release', '--force'], r.io), 1, 'a live lease is never forced')
  t.match(r.out[0], /^not released: run run-1 holds a live lease until /)
  t.equal((await lock.status()).runId, 'run-1')

  r = io(env, now)
  t.equal(await runOps(['lock', 'release', '--run-id', 'run-1'], r.io), 0)
  t.same(r.out, ['released: the lock held by run run-1 is free'])
  t.equal((await lock.status()).runId, null)

  await lock.acquire('run-3')
  nowMs += 10 * MIN + 1
  r = io(env, now)
  t.equal(await runOps(['lock', 'release', '--force'], r.io), 0, 'an ended lease may be forced')
  t.same(r.out, ['released: the ended lease was cleared'])
  r = io(env, now)
  t.equal(await runOps(['lock', 'release'], r.io), 2, 'release needs --run-id or --force')

  await lock.recordSummary({ runId: 'run-9', finishedAtMs: nowMs, durationMs: 1234, partial: true, refreshed: 2, failed: 1, needsReauth: 0, deferred: 3, results: [{ platform: 'reddit', configured: true, due: 6, refreshed: 2, failed: 1, needsReauth: 0, deferred: 3 }, { platform: 'tiktok', configured: false }] })
  r = io(env, now)
  await runOps(['lock', 'status'], r.io)
  t.match(r.out.join('\n'), /last run: run-9 finished .+ in 1234 ms \(partial\)\n {2}refreshed=2 failed=1 needsReauth=0 deferred=3\n {2}reddit: due=6 refreshed=2 failed=1 needsReauth=0 deferred=3\n {2}tiktok: not configured/)

  // due: a dry run over the index, no provider call (no provider is even configured).
  const config = testConfig({ TOKENS_TABLE: table.name })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now })
  const base = { account: { id: 'a' }, scopes: [], accessToken: 'at-canary', refreshToken: 'rt-canary' }
  await store.saveConnection({ ...base, userId: 'u1', platform: 'reddit', expiresAtMs: nowMs - 1 })
  await store.saveConnection({ ...base, userId: 'u2', platform: 'reddit', expiresAtMs: nowMs + 10 * MIN })
  await store.saveConnection({ ...base, userId: 'u3', platform: 'reddit', expiresAtMs: nowMs + 24 * 60 * MIN })
  await store.saveConnection({ ...base, userId: 'u4', platform: 'tiktok', expiresAtMs: nowMs + 60 * MIN })
  r = io(env, now)
  t.equal(await runOps(['due'], r.io), 0)
  t.match(r.out[0], /^instagram: due=0 expired=0 earliest=- window=10080min \(not configured/)
  t.match(r.out[1], /^tiktok: due=1 expired=0 earliest=.+ window=720min/)
  t.match(r.out[2], /^reddit: due=2 expired=1 earliest=.+ window=34min/, 'the lapse rule raised reddit\'s window to 30 + 4 min')
  t.notMatch(r.out.join('\n'), /canary/)

  const fresh = `ops-${randomUUID().slice(0, 8)}`
  r = io({ ...env, TOKENS_TABLE: fresh }, now)
  t.equal(await runOps(['create-table'], r.io), 0)
  t.same(r.out, [`created: table ${fresh} (active, TTL on \`ttl\`)`])
  r = io({ ...env, TOKENS_TABLE: fresh }, now)
  t.equal(await runOps(['create-table'], r.io), 0)
  t.same(r.out, [`exists: table ${fresh} (active, TTL on \`ttl\`)`])
  const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb')
  await table.dynamo.client.send(new DeleteTableCommand({ TableName: fresh }))
})

t.test('webhooks: pending and failed deliveries, listed by a Query of each partition', async (t) => {
  const table = await createTestTable(t)
  const env = { TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: dynamoEndpoint(), AWS_REGION: 'us-east-1' }
  let r = io(env)
  t.equal(await runOps(['webhooks'], r.io), 0)
  t.same(r.out, ['pending: 0', 'failed: 0'])

  const config = testConfig({ TOKENS_TABLE: table.name })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), connectionEvents: true })
  const outbox = createWebhookOutbox({ doc: table.dynamo.doc, table: table.name })
  for (const userId of ['u1', 'u2']) {
    const record = await store.saveConnection({ userId, platform: 'reddit', account: { id: 'a' }, scopes: [], accessToken: 'at-CANARY', refreshToken: 'rt-CANARY', expiresAtMs: Date.now() + 60 * MIN })
    await store.claim(record, 'c', 30_000)
    await store.markNeedsReauth(record, 'c', 'invalid_grant', 30)
  }
  const [first] = await outbox.listDue(1)
  await outbox.claim(first!, 'lease-1', 15_000)
  await outbox.giveUp({ ...first!, attempts: 10 }, 'lease-1', 'http_500', 30)
  r = io(env)
  t.equal(await runOps(['webhooks'], r.io), 0)
  t.equal(r.out[0], 'pending: 1')
  t.match(r.out[1], /^ {2}msg_\w+ connection\.needs_reauth reddit user=u2 occurred=\S+ attempts=0 next attempt \S+$/)
  t.equal(r.out[2], 'failed: 1')
  t.match(r.out[3], /^ {2}msg_\w+ connection\.needs_reauth reddit user=u1 occurred=\S+ attempts=10 failed \S+ lastError=http_500$/)
  t.notOk(r.out.join('\n').includes('CANARY'), 'never a token')
})

t.test('usage errors and an unreachable store', async (t) => {
  let r = io({})
  t.equal(await runOps(['frobnicate'], r.io), 2)
  t.match(r.err[0], /^usage: npm run ops/)
  r = io({})
  t.equal(await runOps(['--help'], r.io), 0)
  r = io({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', TOKENS_TABLE: 'nowhere' })
  t.equal(await runOps(['lock', 'status'], r.io), 3)
  t.match(r.err[0], /^store unavailable/)
})

t.test('npm run ops is the real entry point', async (t) => {
  const table = await createTestTable(t)
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/ops.ts', 'lock', 'status'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...CHILD_ENV_BASE, TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: dynamoEndpoint() },
    encoding: 'utf8',
    timeout: 30_000
  })
  t.equal(result.status, 0, result.stderr)
  t.match(result.stdout, `table: ${table.name}\nlock: free\n`)
})

// Regression (issue 14): `ops lock status` printed the lock item's fields raw, so an escape sequence
// written into a run id (anyone with table access can) reached the operator's terminal.
t.test('lock status prints stored fields with control characters escaped', async (t) => {
  const table = await createTestTable(t)
  const env = { TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: dynamoEndpoint(), AWS_REGION: 'us-east-1' }
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 10 * MIN })
  const hostile = 'run\u001b[2J\r\nlock: free\u0007\u009b\u2028'
  await lock.acquire(hostile)
  await lock.recordSummary({ runId: hostile, finishedAtMs: Date.now(), durationMs: 1, refreshed: 0, failed: 0, needsReauth: 0, deferred: 0, error: 'store_unavailable', results: [{ platform: 'reddit\r\nfake: line', configured: true, due: 0, refreshed: 0, failed: 0, needsReauth: 0, deferred: 0 }] })
  const r = io(env)
  t.equal(await runOps(['lock', 'status'], r.io), 0)
  const text = r.out.join('\n')
  // eslint-disable-next-line no-control-regex
  t.notMatch(text.replaceAll('\n', ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, 'no control character reaches the terminal')
  t.match(r.out[1], /^lock: held by run run\\u001b\[2J\\u000d\\u000alock: free\\u0007\\u009b\\u2028 since /)
  t.equal(r.out.length, 5, 'no forged line')
  t.match(text, /last run: run\\u001b\[2J.* error=store_unavailable/)
  t.match(text, / {2}reddit\\u000d\\u000afake: line: due=0/)
})

// A summary someone wrote by hand that fails the schema (an error code that is none of ours) is
// reported as unreadable: printing it would mean trusting its fields, and "none" would be a lie.
t.test('lock status says a stored summary that fails the schema is unreadable', async (t) => {
  const table = await createTestTable(t)
  const env = { TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: dynamoEndpoint(), AWS_REGION: 'us-east-1' }
  const lock = createLock({ doc: table.dynamo.doc, table: table.name, leaseMs: 10 * MIN })
  await lock.acquire('run-1')
  await lock.recordSummary({ runId: 'run-1', finishedAtMs: Date.now(), error: 'x\u001b]0;title\u0007' })
  const r = io(env)
  t.equal(await runOps(['lock', 'status'], r.io), 0)
  t.equal(r.out[2], 'last run: unreadable (the stored summary does not match the run summary schema)')
  t.notMatch(r.out.join('\n'), /title/)
})

const ROOT = new URL('../..', import.meta.url).pathname

/** The CLI as `npm run ops` runs it, with exactly `env` (plus PATH) and a HOME holding no AWS profile. */
function runCli (t: Test, args: string[], env: Record<string, string | undefined>) {
  const home = mkdtempSync(join(tmpdir(), 'ops-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/ops.ts', ...args], {
    cwd: ROOT,
    // No instance metadata service to wait for: the credential chain ends at once, as on a laptop.
    env: { ...CHILD_ENV_BASE, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: 30_000
  })
}

/** A pid no process has any more. */
function deadPid (): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

t.test('the local store file: private, withdrawn only by its writer, stale once its writer is gone', async (t) => {
  const dir = t.testdir({})
  t.equal(readLocalStore(dir), undefined, 'no file, no store')
  writeLocalStore(dir, 'http://127.0.0.1:8123')
  t.equal(statSync(join(dir, LOCAL_STORE_FILE)).mode & 0o777, 0o600)
  t.match(readLocalStore(dir), { store: { endpoint: 'http://127.0.0.1:8123', pid: process.pid }, live: true })
  removeLocalStore(dir, process.pid + 1)
  t.not(readLocalStore(dir), undefined, 'another pid does not remove it')
  removeLocalStore(dir)
  t.equal(readLocalStore(dir), undefined, 'its writer does')

  const gone = deadPid()
  writeLocalStore(dir, 'http://127.0.0.1:8123', gone)
  t.match(readLocalStore(dir), { store: { pid: gone }, live: false })
  t.match(locateStore({ LOCAL_DATA_DIR: dir }), { env: { DYNAMODB_ENDPOINT: undefined }, note: `ignoring ${join(dir, LOCAL_STORE_FILE)}: the npm start that wrote it (pid ${gone}) is gone` })
  for (const bad of ['not json', '{"endpoint":"http://evil.example:80","pid":1}', `{"endpoint":"http://127.0.0.1:1","pid":"${process.pid}"}`]) {
    writeFileSync(join(dir, LOCAL_STORE_FILE), bad)
    t.equal(readLocalStore(dir), undefined, `unreadable: ${bad}`)
  }
})

t.test('outside production with no DYNAMODB_ENDPOINT, the CLI uses the store npm start published', async (t) => {
  const table = await createTestTable(t)
  const dir = t.testdir({})
  writeLocalStore(dir, dynamoEndpoint())
  const expectedNote = `using the local store of npm start (pid ${process.pid}) at ${dynamoEndpoint()}, from ${join(dir, LOCAL_STORE_FILE)}; NODE_ENV=production or DYNAMODB_ENDPOINT to use another`

  const r = io({ LOCAL_DATA_DIR: dir, TOKENS_TABLE: table.name })
  t.equal(await runOps(['lock', 'status'], r.io), 0)
  t.same(r.out, [`table: ${table.name}`, 'lock: free', 'last run: none recorded'])
  t.same(r.err, [expectedNote], 'says which store, on stderr')

  const child = runCli(t, ['lock', 'status'], { LOCAL_DATA_DIR: dir, TOKENS_TABLE: table.name })
  t.equal(child.status, 0, child.stderr)
  t.equal(child.stdout, `table: ${table.name}\nlock: free\nlast run: none recorded\n`)
  t.equal(child.stderr, `${expectedNote}\n`)

  const set = io({ LOCAL_DATA_DIR: dir, TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' })
  t.equal(await runOps(['lock', 'status'], set.io), 3, 'DYNAMODB_ENDPOINT wins over the file')
  t.notMatch(set.err.join('\n'), /local store/)
})

t.test('no endpoint and no AWS credentials: one plain sentence, in production or not', async (t) => {
  const dir = t.testdir({})
  writeLocalStore(dir, dynamoEndpoint())
  const production = runCli(t, ['lock', 'status'], { NODE_ENV: 'production', LOCAL_DATA_DIR: dir })
  t.equal(production.status, 2)
  t.equal(production.stderr, `${NO_STORE_CONFIGURED}\n`, 'production never reads the local store file')
  t.equal(NO_STORE_CONFIGURED, 'no DynamoDB endpoint and no AWS credentials: set DYNAMODB_ENDPOINT for a local store, or AWS credentials (AWS_PROFILE, …) for AWS')

  const gone = deadPid()
  writeLocalStore(dir, dynamoEndpoint(), gone)
  const stale = runCli(t, ['lock', 'status'], { LOCAL_DATA_DIR: dir })
  t.equal(stale.status, 2)
  t.equal(stale.stderr, `ignoring ${join(dir, LOCAL_STORE_FILE)}: the npm start that wrote it (pid ${gone}) is gone\n${NO_STORE_CONFIGURED}\n`)
  t.notMatch(stale.stderr, /CredentialsProviderError|store unavailable/)
})

// `npm run ops -- lock status | head -1`: the reader goes away before the output is written.
t.test('a reader that closes stdout early does not crash the CLI', async (t) => {
  const table = await createTestTable(t)
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/ops.ts', 'lock', 'status'], {
    cwd: ROOT,
    env: { ...CHILD_ENV_BASE, TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: dynamoEndpoint() },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  t.same({ code, signal }, { code: 0, signal: null }, "the command's own exit code")
  t.equal(stderr, '', 'no EPIPE stack trace')
})
