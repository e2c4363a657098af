// `npm run ops -- keys new <id>`: KMS makes a fresh AES-256 data key under TOKEN_KMS_KEY_ID, bound to
// the entry id by the encryption context, and only its wrapped form leaves this function: the
// plaintext KMS also returns is wiped unread.
// @see https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { formatWrappedKey } from '../store/crypto.js'
import { KMS_CALL_BOUND_MS } from './kms-client.js'
import { generateDataKeyParams } from './kms-params.js'

export interface NewWrappedKey {
  /** `<id>:kms:<base64 CiphertextBlob>`, the entry to add to TOKEN_ENCRYPTION_KEY. */
  readonly entry: string
  /** The KMS key's ARN as KMS reports it (an alias given as TOKEN_KMS_KEY_ID resolves to it). */
  readonly kmsKeyArn: string | undefined
}

export async function newWrappedKey (id: string, kms: KMSClient, kmsKeyId: string): Promise<NewWrappedKey> {
  const out = await kms.send(new GenerateDataKeyCommand(generateDataKeyParams(id, kmsKeyId)), { abortSignal: AbortSignal.timeout(KMS_CALL_BOUND_MS) })
  out.Plaintext?.fill(0)
  if (out.CiphertextBlob === undefined || out.CiphertextBlob.length === 0) throw new Error('KMS answered GenerateDataKey without a CiphertextBlob')
  return { entry: formatWrappedKey(id, out.CiphertextBlob), kmsKeyArn: out.KeyId }
}
