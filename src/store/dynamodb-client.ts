// The AWS SDK v3 clients. Short timeouts and few retries: a store that does not answer should make a
// route answer 503 quickly, not hold a scheduler past its 5 s.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { NodeHttpHandler } from '@smithy/node-http-handler'

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
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 1_000,
      requestTimeout: options.requestTimeoutMs ?? 3_000
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
