// The real process in production mode (`npm start`, `node --import tsx src/server.ts`): serving on a
// given store, a clean SIGTERM through npm, and the one-line configuration error.
import { randomBytes, randomUUID } from 'node:crypto'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import { dynamoEndpoint, type Env } from './helper.js'
import { portClosedWithin, startServer, waitReady, within } from './helpers/server-process.js'

const CANARY = `CANARY${randomUUID().slice(0, 8)}`

const productionEnv = (table: string): Env => ({
  NODE_ENV: 'production',
  DYNAMODB_ENDPOINT: dynamoEndpoint(),
  TOKENS_TABLE: table,
  COOKIE_SECRET: `${CANARY}-${randomBytes(24).toString('base64url')}`,
  TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'),
  CRON_SECRET: `${CANARY}-${randomBytes(24).toString('base64url')}`,
  INTERNAL_API_KEY: `${CANARY}-${randomBytes(24).toString('base64url')}`,
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
  const readyMs = await waitReady(server, 60_000)
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
