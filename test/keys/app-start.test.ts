// Wrapped keys through the real app start path (buildApp: the store plugin unwraps before anything
// reads or writes a token), on DynamoDB Local, the KMS stand-in and a fake Reddit: the round trip
// through the internal route, a rotation from a plain key to a wrapped one, and start-up failing when
// KMS refuses or is down, with the key id named and no key material in the error or the logs.
import { randomBytes } from 'node:crypto'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import t, { type Test } from 'tap'
import { keyContext } from '../../src/keys/kms-params.js'
import { KeyUnwrapError } from '../../src/keys/unwrap-keys.js'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { sealContext } from '../../src/store/token-item.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { closedEndpoint, KmsFake } from '../fakes/kms.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, createTestTable, LogCapture, testConfig, type TestTable } from '../helper.js'

const INTERNAL = 'internal-7NwK3qZt8VbR1xMf5LyP2hGd9sJ'
const HOUR = 60 * 60_000

/** A data key the test knows (its base64 is the canary), wrapped by the stand-in for entry `id`. */
function wrapped (kms: KmsFake, id: string): { entry: string, canary: string } {
  const plaintext = randomBytes(32)
  return { entry: `${id}:kms:${kms.wrap(plaintext, { ...keyContext(id) }).toString('base64')}`, canary: plaintext.toString('base64') }
}

/** Writes a reddit connection sealed with `key` (the test's own store: the app's is inside its scope). */
async function seed (table: TestTable, reddit: RedditFake, key: string, userId: string, expiresInMs = HOUR) {
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(parseEncryptionKeys(key)) })
  const grant = reddit.seedGrant({ id: `acct-${userId}`, username: userId })
  await store.saveConnection({ userId, platform: 'reddit', account: { id: `acct-${userId}`, username: userId }, scopes: ['identity'], accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAtMs: Date.now() + expiresInMs })
  return grant
}

async function serve (t: Test, table: TestTable, reddit: RedditFake, kms: KmsFake, key: string, logs?: LogCapture) {
  const config = testConfig({ TOKENS_TABLE: table.name, INTERNAL_API_KEY: INTERNAL, ...reddit.env(), ...kms.env(), TOKEN_ENCRYPTION_KEY: key })
  return await buildApp(t, { config, ...(logs === undefined ? {} : { logs }) })
}

async function handout (app: Awaited<ReturnType<typeof buildApp>>, userId: string): Promise<{ status: number, accessToken?: string }> {
  const res = await app.inject({ method: 'GET', url: `/api/internal/tokens/${userId}/reddit`, headers: { authorization: `Bearer ${INTERNAL}` } })
  return { status: res.statusCode, ...(res.statusCode === 200 ? { accessToken: (res.json() as { accessToken: string }).accessToken } : {}) }
}

async function sealedAccessToken (table: TestTable, userId: string, attribute = 'accessTokenEnc'): Promise<string> {
  const { Item } = await table.dynamo.doc.send(new GetCommand({ TableName: table.name, Key: { userId, platform: 'reddit' } }))
  return String(Item?.[attribute])
}

t.test('round trip: the app opens tokens sealed with the wrapped key, seals refreshed ones with it, and never logs it', async (t) => {
  const table = await createTestTable(t, 'kms')
  const reddit = await RedditFake.start(t)
  const kms = await KmsFake.start(t)
  const key = wrapped(kms, 'w1')
  const plainSame = `w1:${key.canary}`
  const logs = new LogCapture()
  const app = await serve(t, table, reddit, kms, key.entry, logs)
  // Sealed by the test with the plaintext it had KMS wrap: the app opens it only if it unwrapped that key.
  const stored = await seed(table, reddit, plainSame, 'user-1')
  t.same(await handout(app, 'user-1'), { status: 200, accessToken: stored.accessToken }, 'opened by the app')
  // Expiring within TOKEN_MIN_TTL_MS: the app refreshes it and seals the new tokens itself.
  await seed(table, reddit, plainSame, 'user-2', 60_000)
  const refreshed = await handout(app, 'user-2')
  t.equal(refreshed.status, 200)
  const sealed = await sealedAccessToken(table, 'user-2')
  t.match(sealed, /^v1\.w1\./, 'sealed by the app under the key id')
  const reader = createCipher(parseEncryptionKeys(plainSame))
  t.equal(reader.decrypt(sealed, sealContext({ userId: 'user-2', platform: 'reddit' }, 'access_token')), refreshed.accessToken, 'with the unwrapped key')
  t.equal(kms.callsOf('Decrypt').length, 1, 'one Decrypt at start-up, none per token')
  t.notOk(logs.text.includes(key.canary), 'no key in the logs')
  t.notOk(logs.text.includes(key.entry.slice(8, 40)), 'no blob in the logs')
})

t.test('rotation from a plain key to a wrapped one: old items still read, new writes use the first (wrapped) key', async (t) => {
  const table = await createTestTable(t, 'kms')
  const reddit = await RedditFake.start(t)
  const kms = await KmsFake.start(t)
  const plain = generateEncryptionKey('old')
  const key = wrapped(kms, 'new')
  const old = await seed(table, reddit, plain, 'user-old')
  // Step 2 of the runbook (the wrapped key second): reads both, still writes with the plain key.
  const during = await serve(t, table, reddit, kms, `${plain},${key.entry}`)
  t.same(await handout(during, 'user-old'), { status: 200, accessToken: old.accessToken })
  await seed(table, reddit, plain, 'user-during', 60_000)
  t.equal((await handout(during, 'user-during')).status, 200)
  t.match(await sealedAccessToken(table, 'user-during'), /^v1\.old\./, 'the first key (still the plain one) seals')
  // Step 3 (the wrapped key first): new writes use it, old items still open.
  const after = await serve(t, table, reddit, kms, `${key.entry},${plain}`)
  t.same(await handout(after, 'user-old'), { status: 200, accessToken: old.accessToken }, 'an old item still reads')
  await seed(table, reddit, plain, 'user-after', 60_000)
  const rewritten = await handout(after, 'user-after')
  t.equal(rewritten.status, 200)
  t.match(await sealedAccessToken(table, 'user-after'), /^v1\.new\./, 'a write re-seals with the first (wrapped) key')
  // rotation-never-finished-for-reddit: Reddit keeps its refresh token, which stayed sealed under the
  // old key after every refresh; it is re-sealed with the new key in the same write.
  t.match(await sealedAccessToken(table, 'user-after', 'refreshTokenEnc'), /^v1\.new\./, 'the kept refresh token is re-sealed too')
  // Step 4 done too early (the plain key dropped while items still use it): those items no longer open.
  const only = await serve(t, table, reddit, kms, key.entry)
  t.same(await handout(only, 'user-after'), rewritten, 'the re-sealed item opens with the wrapped key alone')
  t.not((await handout(only, 'user-old')).status, 200, 'an item of the dropped key does not open')
})

async function startupFailure (t: Test, env: Record<string, string>, canaries: readonly string[]): Promise<KeyUnwrapError> {
  const logs = new LogCapture()
  const config = testConfig({ LOG_LEVEL: 'debug', ...env })
  const err = await buildApp(t, { config, logs }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof KeyUnwrapError, `start-up failed with a KeyUnwrapError (${String(err)})`)
  const e = err as KeyUnwrapError
  for (const canary of canaries) {
    t.notOk(e.message.includes(canary) || logs.text.includes(canary), 'no key material in the message or the logs')
  }
  return e
}

t.test('KMS refusing at start-up: start-up fails, naming the key id, never the key', async (t) => {
  const kms = await KmsFake.start(t)
  const key = wrapped(kms, 'prod2')
  kms.refuse = 'AccessDeniedException'
  const e = await startupFailure(t, { ...kms.env(), TOKEN_ENCRYPTION_KEY: `${key.entry},${generateEncryptionKey('prod1')}` }, [key.canary, key.entry.slice(10, 60)])
  t.equal(e.message, 'TOKEN_ENCRYPTION_KEY could not be unwrapped with KMS: key id "prod2": KMS refused Decrypt (AccessDeniedException)')
})

t.test('KMS down at start-up: start-up fails within the bound, naming the key id', async (t) => {
  const kms = await KmsFake.start(t)
  const key = wrapped(kms, 'prod2')
  const started = Date.now()
  const e = await startupFailure(t, { ...kms.env(), KMS_ENDPOINT: await closedEndpoint(), TOKEN_ENCRYPTION_KEY: key.entry }, [key.canary])
  t.match(e.message, /^TOKEN_ENCRYPTION_KEY could not be unwrapped with KMS: key id "prod2": KMS did not answer \(/)
  t.ok(Date.now() - started < 5_000, `failed in ${Date.now() - started} ms`)
})
