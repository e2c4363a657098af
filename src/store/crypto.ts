// AES-256-GCM envelope for tokens at rest. Every ciphertext names the key that sealed it, so
// TOKEN_ENCRYPTION_KEY can hold several keys during a rotation, and is bound to the item and field it
// belongs to (associated data), so a ciphertext copied to another item or field does not open.
// An entry may also be a data key wrapped by KMS (`<id>:kms:<blob>`): src/keys/ unwraps it at start-up.
// @see NIST SP 800-38D (GCM, 96-bit nonces) and RFC 5116 §5.1
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export interface EncryptionKey {
  readonly id: string
  readonly key: Buffer
}

/** A data key still wrapped by KMS, as TOKEN_ENCRYPTION_KEY holds it: unwrapped at start-up (src/keys/unwrap-keys.ts). */
export interface WrappedEncryptionKey {
  readonly id: string
  /** KMS's CiphertextBlob: opaque, usable only through kms:Decrypt. */
  readonly wrapped: Buffer
}

/** One entry of TOKEN_ENCRYPTION_KEY: a plain key or a KMS-wrapped one. */
export type KeyEntry = EncryptionKey | WrappedEncryptionKey

export const isWrappedKey = (entry: KeyEntry): entry is WrappedEncryptionKey => 'wrapped' in entry

export interface Cipher {
  /** Seals `plaintext` with the newest key; `context` names the item and field (associated data). */
  encrypt (plaintext: string, context: string): string
  /** Opens a value sealed by any configured key; throws CryptoError otherwise. */
  decrypt (sealed: string, context: string): string
}

const CRYPTO_ERRORS = {
  unknownKey: 'unknown_key_id',
  malformed: 'malformed_ciphertext',
  authentication: 'authentication_failed'
} as const
export type CryptoErrorCode = typeof CRYPTO_ERRORS[keyof typeof CRYPTO_ERRORS]

export class CryptoError extends Error {
  readonly code: CryptoErrorCode
  constructor (code: CryptoErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CryptoError'
    this.code = code
  }
}

const FORMAT_VERSION = 'v1'
const NONCE_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
const WRAPPED_MARK = 'kms:'
/** KMS's largest CiphertextBlob (the Decrypt API's limit). */
const MAX_WRAPPED_BYTES = 6_144

/**
 * Parses `id:base64key[,id:kms:base64blob…]`. The first key is the newest: it seals every write; the
 * others only open what they sealed before. Errors never quote the key material.
 */
export function parseEncryptionKeys (value: string): KeyEntry[] {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) throw new Error('no key given')
  const keys: KeyEntry[] = []
  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(':')
    if (separator === -1) throw new Error(`entry ${index + 1} is not "<keyId>:<base64 key>" or "<keyId>:kms:<base64 blob>"`)
    const id = entry.slice(0, separator)
    const rest = entry.slice(separator + 1)
    const wrapped = rest.startsWith(WRAPPED_MARK)
    const material = wrapped ? rest.slice(WRAPPED_MARK.length) : rest
    if (!KEY_ID_PATTERN.test(id)) throw new Error(`entry ${index + 1} has a key id outside [A-Za-z0-9_-]{1,32}`)
    if (!BASE64.test(material)) throw new Error(`entry ${index + 1} is not base64`)
    const bytes = Buffer.from(material, 'base64')
    if (wrapped && (bytes.length === 0 || bytes.length > MAX_WRAPPED_BYTES)) throw new Error(`entry ${index + 1} (kms) decodes to ${bytes.length} bytes, not a KMS ciphertext blob`)
    if (!wrapped && bytes.length !== KEY_BYTES) throw new Error(`entry ${index + 1} decodes to ${bytes.length} bytes, not ${KEY_BYTES}`)
    if (keys.some((known) => known.id === id)) throw new Error(`key id of entry ${index + 1} is used twice`)
    keys.push(wrapped ? { id, wrapped: bytes } : { id, key: bytes })
  }
  return keys
}

/** Whether `key` has the length of an AES-256 key (what a KMS Decrypt must give back). */
export function isDataKeyLength (key: Uint8Array): boolean {
  return key.length === KEY_BYTES
}

/** Formats a KMS-wrapped data key for TOKEN_ENCRYPTION_KEY (`npm run ops -- keys new <id>`). */
export function formatWrappedKey (id: string, wrapped: Uint8Array): string {
  return `${id}:${WRAPPED_MARK}${Buffer.from(wrapped).toString('base64')}`
}

/** Formats a fresh key for TOKEN_ENCRYPTION_KEY (development secrets, the rotation runbook). */
export function generateEncryptionKey (id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`
}

/**
 * The cipher over the configured keys. Every entry must be plain by now: a KMS-wrapped entry is
 * refused (naming its id), so a path that forgot to unwrap fails at start-up instead of writing
 * tokens nobody can read.
 */
export function createCipher (entries: readonly KeyEntry[]): Cipher {
  const keys: EncryptionKey[] = entries.map((entry) => {
    if (isWrappedKey(entry)) throw new Error(`key id "${entry.id}" is still wrapped by KMS: unwrap it first (src/keys/unwrap-keys.ts)`)
    return entry
  })
  const newest = keys[0]
  if (newest === undefined) throw new Error('createCipher needs at least one key')
  const byId = new Map(keys.map((k) => [k.id, k.key]))

  return {
    encrypt (plaintext, context) {
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', newest.key, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
      return `${FORMAT_VERSION}.${newest.id}.${nonce.toString('base64url')}.${body.toString('base64url')}`
    },

    decrypt (sealed, context) {
      const parts = sealed.split('.')
      if (parts.length !== 4 || parts[0] !== FORMAT_VERSION) {
        throw new CryptoError(CRYPTO_ERRORS.malformed, 'ciphertext is not in the v1 format')
      }
      const [, keyId = '', nonceText = '', bodyText = ''] = parts
      const key = byId.get(keyId)
      if (key === undefined) {
        throw new CryptoError(CRYPTO_ERRORS.unknownKey, `ciphertext was sealed with key id "${keyId}", which is not configured`)
      }
      const nonce = Buffer.from(nonceText, 'base64url')
      const body = Buffer.from(bodyText, 'base64url')
      if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
        throw new CryptoError(CRYPTO_ERRORS.malformed, 'ciphertext has a wrong nonce or tag length')
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
        decipher.setAAD(Buffer.from(context, 'utf8'))
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8')
      } catch (err) {
        throw new CryptoError(CRYPTO_ERRORS.authentication, 'ciphertext does not authenticate for this item (tampered, moved or wrong key)', { cause: err })
      }
    }
  }
}
