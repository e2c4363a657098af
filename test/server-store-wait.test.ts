// The real process against a DynamoDB endpoint that does not listen yet (compose's first `up`): start-up
// waits with backoff, one log line per attempt, and serves once the store answers; past STORE_WAIT_MS it
// fails with a clear message and the error's stack; a SIGTERM during the wait exits 0 at once.
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, connect, type Server } from 'node:net'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import t, { type Test } from 'tap'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import { describeFailure, isUnreachable, waitForStore } from '../src/store/wait-for-store.js'
import { dynamoEndpoint, type Env } from './helper.js'
import { freePort, startServer, waitReady, within } from './helpers/server-process.js'

function productionEnv (table: string, endpointPort: number, extra: Env = {}): Env {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${endpointPort}`,
    TOKENS_TABLE: table,
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'),
    CRON_SECRET: randomBytes(24).toString('base64url'),
    INTERNAL_API_KEY: randomBytes(24).toString('base64url'),
    APP_URL: 'https://app.example.test',
    COGNITO_USER_POOL_ID: 'us-east-1_Wait1',
    COGNITO_CLIENT_ID: 'wait-client',
    ...extra
  }
}

/** A TCP forwarder to DynamoDB Local, opened on `port` only when asked: the store "starting late". */
async function forwardLater (t: Test, port: number): Promise<() => Promise<void>> {
  const target = new URL(dynamoEndpoint())
  let server: Server | undefined
  t.teardown(() => { server?.close() })
  return async () => {
    server = createServer((socket) => {
      const upstream = connect(Number(target.port), target.hostname)
      socket.pipe(upstream).pipe(socket)
      socket.on('error', () => upstream.destroy())
      upstream.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve))
  }
}

const lines = (text: string): Array<Record<string, unknown>> => text.split('\n').flatMap((l) => {
  try { return [JSON.parse(l) as Record<string, unknown>] } catch { return [] }
})

t.test('DynamoDB not listening yet at start: the service waits, logs each attempt, then serves', async (t) => {
  const table = `wait-${randomUUID().slice(0, 8)}`
  t.teardown(async () => {
    const { client } = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
    client.destroy()
  })
  const storePort = await freePort()
  const open = await forwardLater(t, storePort)
  const server = await startServer(t, productionEnv(table, storePort))
  // At least two failed attempts before the store appears.
  const started = Date.now()
  while (lines(server.output().stdout).filter((l) => l.msg === 'store not answering yet; trying again').length < 2) {
    if (Date.now() - started > 30_000) throw new Error(`no retry lines: ${server.output().stdout}${server.output().stderr}`)
    if (server.child.exitCode !== null) throw new Error(`exited: ${server.output().stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await open()
  const readyMs = await waitReady(server, 60_000)
  t.pass(`ready ${readyMs} ms after the store appeared`)
  const logged = lines(server.output().stdout)
  const retries = logged.filter((l) => l.msg === 'store not answering yet; trying again')
  t.ok(retries.length >= 2, `${retries.length} retry lines`)
  t.same(retries.map((l) => l.attempt), retries.map((_l, i) => i + 1), 'one line per attempt, numbered')
  t.ok(retries.every((l) => typeof l.error === 'string' && /ECONNREFUSED/.test(String(l.error))), 'each says why (connection refused)')
  const delays = retries.map((l) => Number(l.retryInMs))
  t.ok(delays.every((d, i) => i === 0 || d >= (delays[i - 1] ?? 0)), `backoff: ${delays.join(', ')} ms`)
  t.ok(logged.some((l) => l.msg === 'table ready'), 'then the table is made')
  t.notOk(logged.some((l) => l.level === 60), 'no fatal line')
  server.child.kill('SIGTERM')
  t.same(await within(server.exited, 10_000, 'exit'), { code: 0, signal: null })
})

t.test('past STORE_WAIT_MS: exit 1 with one clear line carrying the message and the stack', async (t) => {
  const server = await startServer(t, productionEnv('never-made', await freePort(), { STORE_WAIT_MS: '1500' }))
  const exit = await within(server.exited, 30_000, 'exit after the wait')
  t.same(exit, { code: 1, signal: null })
  const fatal = lines(server.output().stdout + server.output().stderr).filter((l) => l.level === 60)
  t.equal(fatal.length, 1, 'one fatal line')
  const err = fatal[0]?.err as { type?: string, message?: string, stack?: string } | undefined
  t.match(fatal[0]?.msg, /^start-up failed: the store did not answer within STORE_WAIT_MS \(1500 ms, \d+ attempts\): .*ECONNREFUSED/)
  t.equal(err?.type, 'StoreWaitError', 'the error type, not "Object"')
  t.match(err?.message, /did not answer within STORE_WAIT_MS/)
  t.match(err?.stack, /StoreWaitError: the store did not answer[\s\S]*\n\s+at /, 'a stack')
})

t.test('SIGTERM while waiting for the store: exit 0 at once, no further attempt', async (t) => {
  const server = await startServer(t, productionEnv('never-made', await freePort(), { STORE_WAIT_MS: '60000' }))
  const started = Date.now()
  while (!server.output().stdout.includes('store not answering yet')) {
    if (Date.now() - started > 30_000) throw new Error(`no retry line: ${server.output().stdout}${server.output().stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stopping = Date.now()
  server.child.kill('SIGTERM')
  t.same(await within(server.exited, 10_000, 'exit after SIGTERM'), { code: 0, signal: null }, `exit 0 after ${Date.now() - stopping} ms`)
  const after = server.output().stdout.slice(server.output().stdout.indexOf('"msg":"shutting down"'))
  t.notMatch(after, /store not answering yet/, 'no attempt after the signal')
  t.notMatch(server.output().stdout + server.output().stderr, /"level":60/, 'not reported as a failure')
})

t.test('waitForStore: what counts as not there yet, and what fails at once', async (t) => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
  t.ok(isUnreachable(refused))
  t.ok(isUnreachable(new AggregateError([refused], '')), 'a dual-stack refusal')
  t.ok(isUnreachable(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })))
  t.notOk(isUnreachable(Object.assign(new Error('AccessDenied'), { $metadata: { httpStatusCode: 400 } })))
  t.notOk(isUnreachable('ECONNREFUSED'))
  t.equal(describeFailure(new AggregateError([refused], '')), 'AggregateError: Error: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1')

  let calls = 0
  const denied = Object.assign(new Error('AccessDeniedException'), { $metadata: { httpStatusCode: 400 } })
  await t.rejects(waitForStore(async () => { calls++; throw denied }, { waitMs: 5_000, onRetry: () => {} }), denied, 'a store that answered is not waited for')
  t.equal(calls, 1)

  const seen: number[] = []
  calls = 0
  t.equal(await waitForStore(async () => { if (++calls < 3) throw refused; return 'up' }, { waitMs: 5_000, firstDelayMs: 10, onRetry: (a) => seen.push(a.retryInMs) }), 'up')
  t.same(seen, [10, 20], 'backoff doubles')

  const aborted = new AbortController()
  const waiting = waitForStore(async () => { throw refused }, { waitMs: 60_000, firstDelayMs: 10_000, signal: aborted.signal, onRetry: () => { aborted.abort(new Error('stopping')) } })
  await t.rejects(waiting, { message: 'stopping' }, 'an abort ends the wait at once')
})
