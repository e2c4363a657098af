// `npm run ops -- keys new <id>`: asks KMS for a new AES-256 data key under TOKEN_KMS_KEY_ID, bound to
// <id> by the encryption context, and prints the wrapped entry for TOKEN_ENCRYPTION_KEY on stdout
// (alone, so `npm run -s ops -- keys new k2` can be captured). The plaintext key is never printed:
// only the service, through kms:Decrypt, ever holds it.
import type { Config } from '../config.js'
import { createKmsClient } from '../keys/kms-client.js'
import { newWrappedKey } from '../keys/new-data-key.js'
import { KEY_ID_PATTERN } from '../store/crypto.js'
import { EXIT } from './commands.js'

export interface KeysIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

/** Ids TOKEN_ENCRYPTION_KEY already uses (the real variable's, not the CLI's placeholder). */
const configuredIds = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((entry) => entry.trim().split(':')[0] ?? '').filter((id) => id !== '')

export async function keysNew (id: string | undefined, config: Config, tokenEncryptionKey: string | undefined, io: KeysIo): Promise<number> {
  if (id === undefined || !KEY_ID_PATTERN.test(id)) {
    io.err('usage: keys new <id>   (the id: 1 to 32 of A-Z a-z 0-9 _ -, not one TOKEN_ENCRYPTION_KEY already uses)')
    return EXIT.usage
  }
  if (config.kms.keyId === undefined) {
    io.err('keys new needs TOKEN_KMS_KEY_ID: the KMS key (id, ARN or alias/name) that wraps the data key')
    return EXIT.usage
  }
  if (configuredIds(tokenEncryptionKey).includes(id)) {
    io.err(`key id "${id}" is already in TOKEN_ENCRYPTION_KEY: pick a new id (an item names the key that sealed it by its id)`)
    return EXIT.refused
  }
  const kms = createKmsClient({ region: config.kms.region, endpoint: config.kms.endpoint })
  try {
    const { entry, kmsKeyArn } = await newWrappedKey(id, kms, config.kms.keyId)
    io.out(entry)
    io.err(`a new data key "${id}" wrapped by ${kmsKeyArn ?? config.kms.keyId}: add the line above to TOKEN_ENCRYPTION_KEY second (deploy), then first (deploy); docs/runbook.md §7`)
    return EXIT.ok
  } catch (err) {
    // Names only: an SDK message can quote request details.
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    const name = err instanceof Error ? err.name : typeof err
    if (status !== undefined && status >= 400 && status < 500) {
      io.err(`KMS refused GenerateDataKey (${name}): check TOKEN_KMS_KEY_ID and that your role has kms:GenerateDataKey on it (infra/policies/oauth-tokens-ops-iam.json)`)
      return EXIT.refused
    }
    io.err(`KMS did not answer (${name})`)
    return EXIT.kmsUnavailable
  } finally {
    kms.destroy()
  }
}
