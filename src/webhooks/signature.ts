// Standard Webhooks signing: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one
// space-separated entry per secret so receivers keep verifying while secrets rotate.
// @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
import { createHmac } from 'node:crypto'

/** The HMAC key of a `whsec_<base64>` secret: the decoded bytes after the prefix. */
function secretKey (secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
}

export interface SignInput {
  readonly id: string
  readonly timestampSec: number
  readonly body: string
  readonly secrets: readonly string[]
}

function webhookSignature ({ id, timestampSec, body, secrets }: SignInput): string {
  return secrets
    .map((secret) => `v1,${createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSec}.${body}`, 'utf8').digest('base64')}`)
    .join(' ')
}

/** The three headers of one delivery attempt. */
export function webhookHeaders (input: SignInput): Record<string, string> {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestampSec),
    'webhook-signature': webhookSignature(input)
  }
}
