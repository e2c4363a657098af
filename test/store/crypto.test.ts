// AES-256-GCM envelope: round trip, fresh nonces, tamper and swap detection, retired keys, rotation,
// and TOKEN_ENCRYPTION_KEY parsing that never quotes key material.
import t, { type Test } from 'tap'
import { createCipher, CryptoError, generateEncryptionKey, parseEncryptionKeys, type Cipher } from '../../src/store/crypto.js'
import { sealContext } from '../../src/store/token-item.js'

const PLAINTEXT = 'CANARY-token-ünïcødé-🙂'
const CONTEXT = sealContext({ userId: 'u1', platform: 'reddit' }, 'access_token')
const cipherOf = (value: string): Cipher => createCipher(parseEncryptionKeys(value))

function expectCode (t: Test, fn: () => unknown, code: string): void {
  try {
    fn()
    t.fail(`expected CryptoError ${code}`)
  } catch (err) {
    t.ok(err instanceof CryptoError, 'a CryptoError')
    t.equal((err as CryptoError).code, code)
    t.notOk(String((err as Error).message).includes(PLAINTEXT), 'no plaintext in the message')
  }
}

/** Flips one base64url character in place (to another valid one). */
function flip (text: string, at: number): string {
  const c = text[at]
  return `${text.slice(0, at)}${c === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`
}

const keyA = generateEncryptionKey('a')
const keyB = generateEncryptionKey('b')

t.test('round trip, with the key id and format in the clear', async (t) => {
  const cipher = cipherOf(keyA)
  const sealed = cipher.encrypt(PLAINTEXT, CONTEXT)
  t.match(sealed, /^v1\.a\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
  t.notOk(sealed.includes('CANARY'))
  t.equal(cipher.decrypt(sealed, CONTEXT), PLAINTEXT)
  t.equal(cipher.decrypt(cipher.encrypt('', CONTEXT), CONTEXT), '', 'empty plaintext')
})

t.test('a fresh nonce per write: same plaintext, different ciphertexts', async (t) => {
  const cipher = cipherOf(keyA)
  const seen = new Set<string>()
  const nonces = new Set<string>()
  for (let i = 0; i < 50; i++) {
    const sealed = cipher.encrypt(PLAINTEXT, CONTEXT)
    seen.add(sealed)
    nonces.add(sealed.split('.')[2] ?? '')
  }
  t.equal(seen.size, 50)
  t.equal(nonces.size, 50)
})

t.test('tampering with the nonce or the body fails authentication', async (t) => {
  const cipher = cipherOf(keyA)
  const sealed = cipher.encrypt(PLAINTEXT, CONTEXT)
  const [v, id, nonce = '', body = ''] = sealed.split('.')
  expectCode(t, () => cipher.decrypt([v, id, flip(nonce, 3), body].join('.'), CONTEXT), 'authentication_failed')
  expectCode(t, () => cipher.decrypt([v, id, nonce, flip(body, 0)].join('.'), CONTEXT), 'authentication_failed')
  expectCode(t, () => cipher.decrypt([v, id, nonce, flip(body, body.length - 2)].join('.'), CONTEXT), 'authentication_failed')
})

t.test('moved to another item or field (other associated data) fails', async (t) => {
  const cipher = cipherOf(keyA)
  const sealed = cipher.encrypt(PLAINTEXT, CONTEXT)
  expectCode(t, () => cipher.decrypt(sealed, sealContext({ userId: 'u2', platform: 'reddit' }, 'access_token')), 'authentication_failed')
  expectCode(t, () => cipher.decrypt(sealed, sealContext({ userId: 'u1', platform: 'tiktok' }, 'access_token')), 'authentication_failed')
  expectCode(t, () => cipher.decrypt(sealed, sealContext({ userId: 'u1', platform: 'reddit' }, 'refresh_token')), 'authentication_failed')
  // The NUL separators keep ("u1r", "eddit") from meaning ("u1", "reddit").
  t.not(sealContext({ userId: 'u1r', platform: 'eddit' }, 'access_token'), CONTEXT)
})

t.test('written under a retired key id: unknown_key_id; under the same id with other material: authentication_failed', async (t) => {
  const sealed = cipherOf(`${keyB},${keyA}`).encrypt(PLAINTEXT, CONTEXT)
  expectCode(t, () => cipherOf(keyA).decrypt(sealed, CONTEXT), 'unknown_key_id')
  expectCode(t, () => cipherOf(generateEncryptionKey('b')).decrypt(sealed, CONTEXT), 'authentication_failed')
})

t.test('malformed ciphertexts are typed, not thrown strings', async (t) => {
  const cipher = cipherOf(keyA)
  const sealed = cipher.encrypt(PLAINTEXT, CONTEXT)
  const [, id, nonce = '', body = ''] = sealed.split('.')
  for (const bad of ['', 'plain', `v2.${id}.${nonce}.${body}`, `v1.${id}.${nonce}`, `v1.${id}.${nonce}.${body}.x`,
    `v1.${id}.${nonce.slice(2)}.${body}`, `v1.${id}.${nonce}.${body.slice(0, 10)}`]) {
    expectCode(t, () => cipher.decrypt(bad, CONTEXT), 'malformed_ciphertext')
  }
})

t.test('rotation: keys "new,old" read what old wrote and write with new', async (t) => {
  const oldKey = generateEncryptionKey('old')
  const newKey = generateEncryptionKey('new')
  const before = cipherOf(oldKey).encrypt(PLAINTEXT, CONTEXT)
  const rotated = cipherOf(`${newKey},${oldKey}`)
  t.equal(rotated.decrypt(before, CONTEXT), PLAINTEXT, 'reads the old key')
  const after = rotated.encrypt(PLAINTEXT, CONTEXT)
  t.match(after, /^v1\.new\./, 'writes with the newest')
  t.equal(cipherOf(newKey).decrypt(after, CONTEXT), PLAINTEXT, 'the old key can then be retired')
  expectCode(t, () => cipherOf(newKey).decrypt(before, CONTEXT), 'unknown_key_id')
})

t.test('parseEncryptionKeys refuses bad keys without quoting their material', async (t) => {
  const material = generateEncryptionKey('x').slice(2)
  const short = Buffer.alloc(16, 7).toString('base64')
  const cases: Array<[string, RegExp]> = [
    ['', /no key/],
    [' , ', /no key/],
    [material, /not "<keyId>:<base64 key>"/],
    [`k1:${short}`, /16 bytes, not 32/],
    [`k1:${material}extra`, /not 32|not base64/],
    ['k1:not*base64!!', /not base64/],
    [`bad id:${material}`, /key id/],
    [`${'x'.repeat(33)}:${material}`, /key id/],
    [`k1:${material},k1:${material}`, /used twice/],
    [`k1:${material},k2:${short}`, /entry 2/]
  ]
  for (const [value, why] of cases) {
    try {
      parseEncryptionKeys(value)
      t.fail(`accepted ${JSON.stringify(value.slice(0, 4))}…`)
    } catch (err) {
      t.match((err as Error).message, why)
      t.notOk((err as Error).message.includes(material), 'no key material in the message')
      t.notOk((err as Error).message.includes(short), 'no key material in the message')
    }
  }
  t.same(parseEncryptionKeys(` k1:${material} , k2:${material.replaceAll('+', '-').replaceAll('/', '_')} `).map((k) => k.id), ['k1', 'k2'], 'spaces and base64url accepted')
  t.throws(() => createCipher([]), /at least one key/)
})
