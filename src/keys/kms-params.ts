// The KMS requests the service and the ops CLI send, as data: one place says what the encryption
// context is, so the IAM policies (infra/policies/*.json, test/deploy/iam-policy.test.ts) can be
// checked against exactly what goes on the wire.
// @see https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html
import type { DecryptCommandInput, GenerateDataKeyCommandInput } from '@aws-sdk/client-kms'

/** The `service` value of every encryption context: the IAM condition `kms:EncryptionContext:service`. */
export const KMS_CONTEXT_SERVICE = 'oauth-refresher'

export interface KeyContext {
  readonly service: typeof KMS_CONTEXT_SERVICE
  /** The entry's id in TOKEN_ENCRYPTION_KEY: a blob moved to another id does not unwrap. */
  readonly keyId: string
}

export function keyContext (keyId: string): KeyContext {
  return { service: KMS_CONTEXT_SERVICE, keyId }
}

/** Decrypt of one wrapped entry; `kmsKeyId` (TOKEN_KMS_KEY_ID) pins the KMS key the blob must be under. */
export function decryptParams (keyId: string, wrapped: Uint8Array, kmsKeyId: string | undefined): DecryptCommandInput {
  return {
    CiphertextBlob: wrapped,
    EncryptionContext: { ...keyContext(keyId) },
    ...(kmsKeyId === undefined ? {} : { KeyId: kmsKeyId })
  }
}

/** A new AES-256 data key under `kmsKeyId`, bound to the entry id it will have. */
export function generateDataKeyParams (keyId: string, kmsKeyId: string): GenerateDataKeyCommandInput {
  return {
    KeyId: kmsKeyId,
    KeySpec: 'AES_256',
    EncryptionContext: { ...keyContext(keyId) }
  }
}

/**
 * A key given as an ARN lives in the ARN's region, whatever AWS_REGION says (the table's region):
 * a blob is decrypted where its key is.
 */
export function kmsRegion (defaultRegion: string, kmsKeyId: string | undefined): string {
  return /^arn:aws[\w-]*:kms:([a-z0-9-]+):/.exec(kmsKeyId ?? '')?.[1] ?? defaultRegion
}
