// AES-256-GCM envelope for tokens at rest. Every ciphertext names the key that sealed it, so
// TOKEN_ENCRYPTION_KEY can hold several keys during a rotation, and is bound to the item and field it
// belongs to (associated data), so a ciphertext copied to another item or field does not open.
// @see NIST SP 800-38D (GCM, 96-bit nonces) and RFC 5116 §5.1
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export interface EncryptionKey {
  readonly id: string
  readonly key: Buffer
}

export interface Cipher {
  /** Seals `plaintext` with the newest key; `context` names the item and field (associated data). */
  encrypt (plaintext: string, context: string): string
  /** Opens a value sealed by any configured key; throws CryptoError otherwise. */
  decrypt (sealed: string, context: string): string
}

export const CRYPTO_ERRORS = {
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
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/

/**
 * Parses `id:base64key[,id:base64key…]`. The first key is the newest: it seals every write; the
 * others only open what they sealed before. Errors never quote the key material.
 */
export function parseEncryptionKeys (value: string): EncryptionKey[] {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) throw new Error('no key given')
  const keys: EncryptionKey[] = []
  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(':')
    if (separator === -1) throw new Error(`entry ${index + 1} is not "<keyId>:<base64 key>"`)
    const id = entry.slice(0, separator)
    const material = entry.slice(separator + 1)
    if (!KEY_ID_PATTERN.test(id)) throw new Error(`entry ${index + 1} has a key id outside [A-Za-z0-9_-]{1,32}`)
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(material)) throw new Error(`entry ${index + 1} is not base64`)
    const key = Buffer.from(material, 'base64')
    if (key.length !== KEY_BYTES) throw new Error(`entry ${index + 1} decodes to ${key.length} bytes, not ${KEY_BYTES}`)
    if (keys.some((known) => known.id === id)) throw new Error(`key id of entry ${index + 1} is used twice`)
    keys.push({ id, key })
  }
  return keys
}

/** Formats a fresh key for TOKEN_ENCRYPTION_KEY (development secrets, the rotation runbook). */
export function generateEncryptionKey (id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`
}

export function createCipher (keys: readonly EncryptionKey[]): Cipher {
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
