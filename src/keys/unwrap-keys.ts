// Start-up: every KMS-wrapped entry of TOKEN_ENCRYPTION_KEY becomes a plain data key, held in this
// process's memory only (never logged, never written). KMS refusing or out of reach ends start-up
// with one error naming the entry ids, never key material: a service that cannot open tokens must not
// serve. Each process unwraps for itself, so two instances need nothing from each other.
// @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms'
import { isDataKeyLength, isWrappedKey, type EncryptionKey, type KeyEntry } from '../store/crypto.js'
import { KMS_CALL_BOUND_MS } from './kms-client.js'
import { decryptParams } from './kms-params.js'

export const KEY_UNWRAP_ERRORS = {
  /** KMS answered and said no: access denied, wrong context or key, a blob not its own, a disabled key. */
  refused: 'kms_refused',
  /** No answer: connection refused, timeouts, 5xx and throttling after the SDK's retries. */
  unreachable: 'kms_unreachable',
  /** KMS unwrapped something that is not a 32-byte key (a data key made with another KeySpec). */
  notAnAesKey: 'kms_not_an_aes_256_key'
} as const
export type KeyUnwrapErrorCode = typeof KEY_UNWRAP_ERRORS[keyof typeof KEY_UNWRAP_ERRORS]

export class KeyUnwrapError extends Error {
  readonly code: KeyUnwrapErrorCode
  /** Every entry id that did not unwrap, in TOKEN_ENCRYPTION_KEY's order. */
  readonly keyIds: readonly string[]
  constructor (code: KeyUnwrapErrorCode, keyIds: readonly string[], message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'KeyUnwrapError'
    this.code = code
    this.keyIds = keyIds
  }
}

export interface UnwrapOptions {
  /** Needed only when an entry is wrapped; plain-only configurations never reach KMS. */
  readonly kms?: KMSClient | undefined
  /** TOKEN_KMS_KEY_ID: Decrypt then accepts only blobs of that KMS key. */
  readonly kmsKeyId?: string | undefined
  /** Bound on the whole unwrap (all entries are unwrapped at once). */
  readonly timeoutMs?: number
}

interface Failure { readonly id: string, readonly code: KeyUnwrapErrorCode, readonly reason: string, readonly cause: unknown }

const statusOf = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode

/** An SDK error KMS itself answered with a 4xx (its `__type` is the name), as opposed to no answer. */
function refusal (err: unknown): string | undefined {
  const status = statusOf(err)
  return status !== undefined && status >= 400 && status < 500 ? (err as Error).name : undefined
}

/** Names only: an SDK message can quote request details. */
const errorName = (err: unknown): string => err instanceof Error ? ((err as { code?: string }).code ?? err.name) : typeof err

async function unwrapOne (id: string, wrapped: Buffer, kms: KMSClient, kmsKeyId: string | undefined, signal: AbortSignal): Promise<Buffer | Failure> {
  let plaintext: Uint8Array | undefined
  try {
    plaintext = (await kms.send(new DecryptCommand(decryptParams(id, wrapped, kmsKeyId)), { abortSignal: signal })).Plaintext
  } catch (err) {
    const refused = refusal(err)
    return refused !== undefined
      ? { id, code: KEY_UNWRAP_ERRORS.refused, reason: `KMS refused Decrypt (${refused})`, cause: err }
      : { id, code: KEY_UNWRAP_ERRORS.unreachable, reason: statusOf(err) !== undefined ? `KMS failed (${errorName(err)}, HTTP ${statusOf(err) ?? '?'}, after retries)` : `KMS did not answer (${signal.aborted ? 'timed out' : errorName(err)})`, cause: err }
  }
  if (plaintext === undefined || !isDataKeyLength(plaintext)) {
    plaintext?.fill(0)
    return { id, code: KEY_UNWRAP_ERRORS.notAnAesKey, reason: 'KMS returned a data key that is not 32 bytes (make it with `keys new`, AES_256)', cause: undefined }
  }
  const key = Buffer.from(plaintext)
  // The SDK's copy is not needed any more: keep one copy of the key in memory, not two.
  plaintext.fill(0)
  return key
}

/**
 * The entries as plain keys, in their order (the first still seals every write). Plain entries pass
 * through; wrapped ones are unwrapped with Decrypt under {service, keyId} and TOKEN_KMS_KEY_ID.
 */
export async function unwrapKeys (entries: readonly KeyEntry[], options: UnwrapOptions = {}): Promise<EncryptionKey[]> {
  const wrapped = entries.filter(isWrappedKey)
  if (wrapped.length === 0) return entries.filter((e): e is EncryptionKey => !isWrappedKey(e))
  const { kms } = options
  if (kms === undefined) throw new KeyUnwrapError(KEY_UNWRAP_ERRORS.unreachable, wrapped.map((e) => e.id), `TOKEN_ENCRYPTION_KEY: key id ${wrapped.map((e) => `"${e.id}"`).join(', ')} is wrapped by KMS and no KMS client was given`)
  const signal = AbortSignal.timeout(options.timeoutMs ?? KMS_CALL_BOUND_MS)
  const results = await Promise.all(entries.map(async (entry) =>
    isWrappedKey(entry) ? await unwrapOne(entry.id, entry.wrapped, kms, options.kmsKeyId, signal) : entry.key))
  const failures = results.filter((r): r is Failure => !Buffer.isBuffer(r))
  if (failures.length > 0) {
    // What did unwrap is not used: wipe it (plain entries are the configuration's own, left as they are).
    results.forEach((r, index) => { if (Buffer.isBuffer(r) && isWrappedKey(entries[index] as KeyEntry)) r.fill(0) })
    const [first] = failures as [Failure, ...Failure[]]
    const what = failures.map((f) => `key id "${f.id}": ${f.reason}`).join('; ')
    throw new KeyUnwrapError(first.code, failures.map((f) => f.id), `TOKEN_ENCRYPTION_KEY could not be unwrapped with KMS: ${what}`, { cause: first.cause })
  }
  return entries.map((entry, index) => ({ id: entry.id, key: results[index] as Buffer }))
}
