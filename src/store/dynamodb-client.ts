// The AWS SDK v3 clients. Short timeouts and few retries: a store that does not answer should make a
// route answer 503 quickly, not hold a scheduler past its 5 s. `requestTimeout` alone only logs a
// warning (@smithy/node-http-handler): `throwOnRequestTimeout` makes it end the attempt, so a DynamoDB
// that accepts connections and never answers costs at most STORE_CALL_BOUND_MS per call.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { NodeHttpHandler } from '@smithy/node-http-handler'

const CONNECTION_TIMEOUT_MS = 1_000
const REQUEST_TIMEOUT_MS = 2_000
const MAX_ATTEMPTS = 2
/** The longest one store call takes with the defaults: every attempt timing out, plus the SDK's retry delay (under 1 s). */
export const STORE_CALL_BOUND_MS = MAX_ATTEMPTS * (CONNECTION_TIMEOUT_MS + REQUEST_TIMEOUT_MS) + 1_000

export interface DynamoClients {
  readonly client: DynamoDBClient
  readonly doc: DynamoDBDocumentClient
}

export interface DynamoClientOptions {
  readonly region: string
  /** Unset means AWS itself; set for DynamoDB Local. */
  readonly endpoint?: string | undefined
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  readonly maxAttempts?: number
}

export function createDynamoClients (options: DynamoClientOptions): DynamoClients {
  const local = options.endpoint !== undefined
  const client = new DynamoDBClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true
    }),
    ...(local ? { endpoint: options.endpoint } : {}),
    // DynamoDB Local ignores credentials but the SDK still signs: give it placeholders when the
    // environment has none, never for AWS itself.
    ...(local && process.env.AWS_ACCESS_KEY_ID === undefined
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {})
  })
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true }
  })
  return { client, doc }
}
