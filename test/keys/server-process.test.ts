// The real server process (node --import tsx src/server.ts, production mode) with a KMS-wrapped key
// against the KMS stand-in, as an acceptance suite starts it: it unwraps, serves a token sealed with
// that key through the internal route, and logs no key; KMS refusing or down ends the process with
// exit 1 and one fatal line naming the key id, never the key.
import { randomBytes, randomUUID } from 'node:crypto'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import t, { type Test } from 'tap'
import { keyContext } from '../../src/keys/kms-params.js'
import { createCipher, parseEncryptionKeys } from '../../src/store/crypto.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { closedEndpoint, KmsFake } from '../fakes/kms.js'
import { RedditFake } from '../fakes/reddit.js'
import { dynamoEndpoint, type Env } from '../helper.js'
import { startServer, waitReady, within } from '../helpers/server-process.js'

const INTERNAL = `internal-${randomUUID()}-0123456789`

function productionEnv (table: string, kms: KmsFake, key: string): Env {
  return {
    NODE_ENV: 'production',
    DYNAMODB_ENDPOINT: dynamoEndpoint(),
    TOKENS_TABLE: table,
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: key,
    INTERNAL_API_KEY: INTERNAL,
    APP_URL: 'https://app.example.test',
    COGNITO_USER_POOL_ID: 'us-east-1_Test123',
    COGNITO_CLIENT_ID: 'test-client',
    ...kms.env()
  }
}

function wrapped (kms: KmsFake, id: string): { entry: string, plain: string, canary: string } {
  const plaintext = randomBytes(32)
  const canary = plaintext.toString('base64')
  return { entry: `${id}:kms:${kms.wrap(plaintext, { ...keyContext(id) }).toString('base64')}`, plain: `${id}:${canary}`, canary }
}

function dropTableAtTeardown (t: Test, table: string): void {
  t.teardown(async () => {
    const { client } = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
    client.destroy()
  })
}

t.test('production process with a wrapped key: unwraps at start, serves a token sealed with it, logs no key', async (t) => {
  const table = `kms-proc-${randomUUID().slice(0, 8)}`
  dropTableAtTeardown(t, table)
  const kms = await KmsFake.start(t)
  const reddit = await RedditFake.start(t)
  const key = wrapped(kms, 'prod1')
  const server = await startServer(t, { ...productionEnv(table, kms, key.entry), ...reddit.env() })
  await waitReady(server, 60_000)
  t.same(kms.callsOf('Decrypt').map((c) => c.encryptionContext), [{ service: 'oauth-refresher', keyId: 'prod1' }], 'one Decrypt, under the context')

  // A token sealed with the plaintext the test had KMS wrap: the process opens it only with that key.
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  t.teardown(() => dynamo.client.destroy())
  const store = createTokenStore({ doc: dynamo.doc, table, cipher: createCipher(parseEncryptionKeys(key.plain)) })
  const grant = reddit.seedGrant({ id: 'acct-1', username: 'one' })
  await store.saveConnection({ userId: 'user-1', platform: 'reddit', account: { id: 'acct-1', username: 'one' }, scopes: ['identity'], accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAtMs: Date.now() + 60 * 60_000 })
  const res = await fetch(`http://127.0.0.1:${server.port}/api/internal/tokens/user-1/reddit`, { headers: { authorization: `Bearer ${INTERNAL}` } })
  t.equal(res.status, 200)
  t.equal((await res.json() as { accessToken: string }).accessToken, grant.accessToken)

  server.child.kill('SIGTERM')
  await within(server.exited, 10_000, 'exit after SIGTERM')
  const { stdout, stderr } = server.output()
  t.notOk(`${stdout}${stderr}`.includes(key.canary), 'no key in the output')
  t.notOk(`${stdout}${stderr}`.includes(key.entry.slice(9, 60)), 'no blob in the output')
  t.notOk(stdout.includes('plain key id'), 'no plain-key warning: the only key is wrapped')
})

for (const [what, arrange] of [
  ['refusing', async (kms: KmsFake): Promise<Env> => { kms.refuse = 'AccessDeniedException'; return {} }],
  ['down', async (): Promise<Env> => ({ KMS_ENDPOINT: await closedEndpoint() })]
] as const) {
  t.test(`production process with KMS ${what}: exit 1, one fatal line naming the key id, no key`, async (t) => {
    const table = `kms-proc-${randomUUID().slice(0, 8)}`
    dropTableAtTeardown(t, table)
    const kms = await KmsFake.start(t)
    const key = wrapped(kms, 'prod2')
    const server = await startServer(t, { ...productionEnv(table, kms, `${key.entry},prod1:${randomBytes(32).toString('base64')}`), ...(await arrange(kms)) })
    const exit = await within(server.exited, 30_000, `exit with KMS ${what}`)
    t.same(exit, { code: 1, signal: null })
    const { stdout, stderr } = server.output()
    const lines = `${stdout}${stderr}`.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { level: number, msg: string, err?: { message: string } })
    const fatal = lines.filter((l) => l.level >= 50)
    t.equal(fatal.length, 1, 'one error line')
    t.equal(fatal[0]?.msg, 'start-up failed')
    t.match(fatal[0]?.err?.message, what === 'refusing'
      ? /^TOKEN_ENCRYPTION_KEY could not be unwrapped with KMS: key id "prod2": KMS refused Decrypt \(AccessDeniedException\)$/
      : /^TOKEN_ENCRYPTION_KEY could not be unwrapped with KMS: key id "prod2": KMS did not answer \(/)
    t.notOk(`${stdout}${stderr}`.includes(key.canary), 'no key in the output')
    t.notOk(`${stdout}${stderr}`.includes(key.entry.slice(9, 60)), 'no blob in the output')
    t.ok(lines.some((l) => l.msg.includes('plain key id "prod1"')), 'the plain entry warned about')
  })
}
