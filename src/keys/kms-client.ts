// The AWS SDK v3 KMS client, built as the DynamoDB one is (src/store/dynamodb-client.ts): short
// timeouts, few retries, `throwOnRequestTimeout` so a KMS that accepts connections and never answers
// ends the attempt. Start-up waits on it, so its bound must stay well inside Fastify's plugin timeout.
import { KMSClient } from '@aws-sdk/client-kms'
import { NodeHttpHandler } from '@smithy/node-http-handler'

const CONNECTION_TIMEOUT_MS = 1_000
const REQUEST_TIMEOUT_MS = 2_000
const MAX_ATTEMPTS = 2
/** The longest one KMS call takes: every attempt timing out, plus the SDK's retry delay (under 1 s). */
export const KMS_CALL_BOUND_MS = MAX_ATTEMPTS * (CONNECTION_TIMEOUT_MS + REQUEST_TIMEOUT_MS) + 1_000

export interface KmsClientOptions {
  readonly region: string
  /** Unset means AWS itself; set for a stand-in (KMS_ENDPOINT). */
  readonly endpoint?: string | undefined
}

export function createKmsClient (options: KmsClientOptions): KMSClient {
  const local = options.endpoint !== undefined
  return new KMSClient({
    region: options.region,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true
    }),
    ...(local ? { endpoint: options.endpoint } : {}),
    // A stand-in ignores credentials but the SDK still signs: placeholders when the environment has
    // none, never for AWS itself.
    ...(local && process.env.AWS_ACCESS_KEY_ID === undefined
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {})
  })
}
