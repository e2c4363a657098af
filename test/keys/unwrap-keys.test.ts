// Unwrapping TOKEN_ENCRYPTION_KEY's kms entries through the real SDK client against the KMS stand-in:
// the round trip, blobs made for another entry or another key, foreign blobs, KMS refusing, down or
// hanging (bounded), a data key of the wrong size, and the requests as data. No message or error
// carries key material (canaries).
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { createKmsClient, KMS_CALL_BOUND_MS } from '../../src/keys/kms-client.js'
import { decryptParams, generateDataKeyParams, keyContext, kmsRegion } from '../../src/keys/kms-params.js'
import { KEY_UNWRAP_ERRORS, KeyUnwrapError, unwrapKeys } from '../../src/keys/unwrap-keys.js'
import { generateEncryptionKey, parseEncryptionKeys, type KeyEntry } from '../../src/store/crypto.js'
import { closedEndpoint, KmsFake } from '../fakes/kms.js'

const clientFor = (t: Test, endpoint: string) => {
  const kms = createKmsClient({ region: 'us-east-1', endpoint })
  t.teardown(() => kms.destroy())
  return kms
}

/** A data key the test knows (its base64 is the canary), wrapped by the stand-in for entry `id`. */
function wrappedEntry (kms: KmsFake, id: string, contextId = id, plaintext = randomBytes(32)): { entry: string, canary: string } {
  return { entry: `${id}:kms:${kms.wrap(plaintext, { ...keyContext(contextId) }).toString('base64')}`, canary: plaintext.toString('base64') }
}

async function refusedWith (t: Test, promise: Promise<unknown>, code: string, keyId: string, canaries: readonly string[]): Promise<KeyUnwrapError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof KeyUnwrapError, 'a KeyUnwrapError')
  const e = err as KeyUnwrapError
  t.equal(e.code, code)
  t.same(e.keyIds, [keyId])
  t.match(e.message, new RegExp(`key id "${keyId}"`), 'names the key id')
  for (const canary of canaries) t.notOk(e.message.includes(canary) || JSON.stringify(e).includes(canary), 'no key material in the error')
  return e
}

t.test('round trip: wrapped entries unwrap to their data keys, plain ones pass through, order kept', async (t) => {
  const kms = await KmsFake.start(t)
  const a = wrappedEntry(kms, 'new')
  const plain = generateEncryptionKey('old')
  const keys = await unwrapKeys(parseEncryptionKeys(`${a.entry},${plain}`), { kms: clientFor(t, kms.endpoint), kmsKeyId: kms.keyArn })
  t.same(keys.map((k) => k.id), ['new', 'old'])
  t.equal(keys[0]?.key.toString('base64'), a.canary)
  t.equal(keys[1]?.key.toString('base64'), plain.slice(4))
  const [call] = kms.callsOf('Decrypt')
  t.same(call, { operation: 'Decrypt', keyId: kms.keyArn, encryptionContext: { service: 'oauth-refresher', keyId: 'new' } }, 'Decrypt under {service, keyId} with TOKEN_KMS_KEY_ID')
})

t.test('without TOKEN_KMS_KEY_ID the blob names its key; a plain-only list never reaches KMS', async (t) => {
  const kms = await KmsFake.start(t)
  const a = wrappedEntry(kms, 'k1')
  const keys = await unwrapKeys(parseEncryptionKeys(a.entry), { kms: clientFor(t, kms.endpoint) })
  t.equal(keys[0]?.key.toString('base64'), a.canary)
  t.equal(kms.callsOf('Decrypt')[0]?.keyId, undefined, 'no KeyId sent')
  const plainOnly = await unwrapKeys(parseEncryptionKeys(generateEncryptionKey('p')))
  t.same(plainOnly.map((k) => k.id), ['p'], 'no client needed')
})

t.test('a blob wrapped under another context (another entry id) is refused', async (t) => {
  const kms = await KmsFake.start(t)
  // Made for entry "k1", configured as "k2": the context {keyId: "k2"} does not open it.
  const moved = wrappedEntry(kms, 'k2', 'k1')
  await refusedWith(t, unwrapKeys(parseEncryptionKeys(moved.entry), { kms: clientFor(t, kms.endpoint), kmsKeyId: kms.keyArn }), KEY_UNWRAP_ERRORS.refused, 'k2', [moved.canary, moved.entry.slice(7)])
  t.equal(kms.callsOf('Decrypt')[0]?.error, 'InvalidCiphertextException')
  // Another service's context entirely.
  const other = `k3:kms:${kms.wrap(randomBytes(32), { service: 'another-service', keyId: 'k3' }).toString('base64')}`
  const e = await refusedWith(t, unwrapKeys(parseEncryptionKeys(other), { kms: clientFor(t, kms.endpoint) }), KEY_UNWRAP_ERRORS.refused, 'k3', [])
  t.match(e.message, /InvalidCiphertextException/)
})

t.test('foreign blobs: random bytes, another account\'s key, a key other than TOKEN_KMS_KEY_ID', async (t) => {
  const kms = await KmsFake.start(t)
  const elsewhere = await KmsFake.start(t, { account: '444455556666' })
  const client = clientFor(t, kms.endpoint)
  const random = `r:kms:${randomBytes(180).toString('base64')}`
  let e = await refusedWith(t, unwrapKeys(parseEncryptionKeys(random), { kms: client }), KEY_UNWRAP_ERRORS.refused, 'r', [])
  t.match(e.message, /InvalidCiphertextException/)
  const foreign = wrappedEntry(elsewhere, 'f')
  e = await refusedWith(t, unwrapKeys(parseEncryptionKeys(foreign.entry), { kms: client }), KEY_UNWRAP_ERRORS.refused, 'f', [foreign.canary])
  t.match(e.message, /AccessDeniedException/)
  // Under a second key of the same account, while TOKEN_KMS_KEY_ID pins the first.
  const second = kms.createKey()
  const pinned = `p:kms:${kms.wrap(randomBytes(32), { ...keyContext('p') }, second).toString('base64')}`
  e = await refusedWith(t, unwrapKeys(parseEncryptionKeys(pinned), { kms: client, kmsKeyId: kms.keyArn }), KEY_UNWRAP_ERRORS.refused, 'p', [])
  t.match(e.message, /IncorrectKeyException/)
})

t.test('KMS refusing (access denied, disabled key): refused, naming every entry that failed', async (t) => {
  const kms = await KmsFake.start(t)
  const a = wrappedEntry(kms, 'a')
  const b = wrappedEntry(kms, 'b')
  const entries = parseEncryptionKeys(`${a.entry},${generateEncryptionKey('plain')},${b.entry}`)
  kms.refuse = 'AccessDeniedException'
  const err = await unwrapKeys(entries, { kms: clientFor(t, kms.endpoint), kmsKeyId: kms.keyArn }).catch((e: unknown) => e) as KeyUnwrapError
  t.equal(err.code, KEY_UNWRAP_ERRORS.refused)
  t.same(err.keyIds, ['a', 'b'])
  t.match(err.message, /^TOKEN_ENCRYPTION_KEY could not be unwrapped with KMS: key id "a": KMS refused Decrypt \(AccessDeniedException\); key id "b": /)
  t.equal((err.cause as Error).name, 'AccessDeniedException', 'the SDK error is the cause')
  t.notOk(err.message.includes(a.canary) || err.message.includes(b.canary))
  kms.refuse = undefined
  kms.setEnabled(kms.keyArn, false)
  const disabled = await unwrapKeys(parseEncryptionKeys(a.entry), { kms: clientFor(t, kms.endpoint) }).catch((e: unknown) => e) as KeyUnwrapError
  t.match(disabled.message, /DisabledException/)
  kms.setEnabled(kms.keyArn, true)
  // A 5xx is KMS failing, not refusing: retried by the SDK (2 attempts), then unreachable.
  kms.refuse = 'KMSInternalException'
  const failing = await unwrapKeys(parseEncryptionKeys(a.entry), { kms: clientFor(t, kms.endpoint) }).catch((e: unknown) => e) as KeyUnwrapError
  t.equal(failing.code, KEY_UNWRAP_ERRORS.unreachable)
  t.match(failing.message, /key id "a": KMS failed \(KMSInternalException, HTTP 500, after retries\)$/)
  t.equal(kms.callsOf('Decrypt').filter((c) => c.error === 'KMSInternalException').length, 2, 'two attempts')
})

t.test('KMS down: unreachable, quickly; KMS hanging: unreachable within the bound', async (t) => {
  const kms = await KmsFake.start(t)
  const a = wrappedEntry(kms, 'k1')
  const entries: KeyEntry[] = parseEncryptionKeys(a.entry)
  let started = Date.now()
  let e = await refusedWith(t, unwrapKeys(entries, { kms: clientFor(t, await closedEndpoint()) }), KEY_UNWRAP_ERRORS.unreachable, 'k1', [a.canary])
  t.match(e.message, /KMS did not answer/)
  t.ok(Date.now() - started < KMS_CALL_BOUND_MS, `connection refused: failed in ${Date.now() - started} ms`)
  kms.stall = true
  started = Date.now()
  e = await refusedWith(t, unwrapKeys(entries, { kms: clientFor(t, kms.endpoint) }), KEY_UNWRAP_ERRORS.unreachable, 'k1', [a.canary])
  const tookMs = Date.now() - started
  t.ok(tookMs <= KMS_CALL_BOUND_MS + 500, `hanging KMS: failed in ${tookMs} ms (bound ${KMS_CALL_BOUND_MS} ms)`)
  // A shorter deadline of the caller's wins.
  started = Date.now()
  e = await refusedWith(t, unwrapKeys(entries, { kms: clientFor(t, kms.endpoint), timeoutMs: 300 }), KEY_UNWRAP_ERRORS.unreachable, 'k1', [])
  t.match(e.message, /timed out/)
  t.ok(Date.now() - started < 1_500, `caller's deadline: ${Date.now() - started} ms`)
})

t.test('a data key that is not 32 bytes is refused; no client for wrapped entries is an error', async (t) => {
  const kms = await KmsFake.start(t)
  const short = wrappedEntry(kms, 's', 's', randomBytes(16))
  await refusedWith(t, unwrapKeys(parseEncryptionKeys(short.entry), { kms: clientFor(t, kms.endpoint) }), KEY_UNWRAP_ERRORS.notAnAesKey, 's', [short.canary])
  await refusedWith(t, unwrapKeys(parseEncryptionKeys(short.entry)), KEY_UNWRAP_ERRORS.unreachable, 's', [])
})

t.test('the requests as data: context, KeyId only when set, AES_256; the region of a key ARN', async (t) => {
  const blob = Buffer.from('blob')
  t.same(decryptParams('k1', blob, undefined), { CiphertextBlob: blob, EncryptionContext: { service: 'oauth-refresher', keyId: 'k1' } })
  t.same(decryptParams('k1', blob, 'alias/x'), { CiphertextBlob: blob, EncryptionContext: { service: 'oauth-refresher', keyId: 'k1' }, KeyId: 'alias/x' })
  t.same(generateDataKeyParams('k2', 'alias/x'), { KeyId: 'alias/x', KeySpec: 'AES_256', EncryptionContext: { service: 'oauth-refresher', keyId: 'k2' } })
  t.equal(kmsRegion('us-east-1', 'arn:aws:kms:eu-west-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'), 'eu-west-3')
  t.equal(kmsRegion('us-east-1', 'alias/tokens'), 'us-east-1')
  t.equal(kmsRegion('us-east-1', undefined), 'us-east-1')
})
