// The one definition of the tokens table. ensureTable() creates it from this object and
// infra/oauth-tokens-table.json is generated from it (`npm run infra:table`); a test proves the two agree.
// @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html (sparse indexes)
import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, ResourceInUseException,
  ResourceNotFoundException, UpdateTimeToLiveCommand, type CreateTableCommandInput, type DynamoDBClient
} from '@aws-sdk/client-dynamodb'

export const BY_EXPIRY_INDEX = 'byExpiry'
export const TTL_ATTRIBUTE = 'ttl'
export const DEFAULT_TABLE_NAME = 'huntaze-oauth-tokens'

/** Key schema, index and billing as data, in the wire's own names. */
export const TOKENS_TABLE = {
  AttributeDefinitions: [
    { AttributeName: 'userId', AttributeType: 'S' },
    { AttributeName: 'platform', AttributeType: 'S' },
    { AttributeName: 'expiresAt', AttributeType: 'N' }
  ],
  KeySchema: [
    { AttributeName: 'userId', KeyType: 'HASH' },
    { AttributeName: 'platform', KeyType: 'RANGE' }
  ],
  GlobalSecondaryIndexes: [{
    IndexName: BY_EXPIRY_INDEX,
    KeySchema: [
      { AttributeName: 'platform', KeyType: 'HASH' },
      { AttributeName: 'expiresAt', KeyType: 'RANGE' }
    ],
    // The refresh query reads keys only, then each item with a consistent read.
    Projection: { ProjectionType: 'KEYS_ONLY' }
  }],
  BillingMode: 'PAY_PER_REQUEST'
} as const satisfies Omit<CreateTableCommandInput, 'TableName'>

export function createTableParams (tableName: string): CreateTableCommandInput {
  return structuredClone({ TableName: tableName, ...TOKENS_TABLE }) as CreateTableCommandInput
}

export interface EnsureTableResult {
  readonly created: boolean
  readonly ttlEnabled: boolean
}

/** Creates the table if it is missing, waits until it is active, then turns TTL on. Idempotent. */
export async function ensureTable (client: DynamoDBClient, tableName: string, timeoutMs = 60_000): Promise<EnsureTableResult> {
  let created = false
  try {
    await client.send(new CreateTableCommand(createTableParams(tableName)))
    created = true
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err
  }
  await waitUntilActive(client, tableName, timeoutMs)

  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }))
  const ttlStatus = ttl.TimeToLiveDescription?.TimeToLiveStatus
  if (ttlStatus !== 'ENABLED' && ttlStatus !== 'ENABLING') {
    await client.send(new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true }
    }))
  }
  return { created, ttlEnabled: true }
}

async function waitUntilActive (client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }))
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((gsi) => gsi.IndexStatus === 'ACTIVE')
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) return
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err
    }
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become active within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** The CloudFormation template committed as infra/oauth-tokens-table.json. */
export function cloudFormationTemplate (): Record<string, unknown> {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'oauth-refresher tokens table (generated from src/store/table.ts by `npm run infra:table`; do not edit by hand)',
    Parameters: {
      TableName: { Type: 'String', Default: DEFAULT_TABLE_NAME }
    },
    Resources: {
      OAuthTokensTable: {
        Type: 'AWS::DynamoDB::Table',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          TableName: { Ref: 'TableName' },
          ...structuredClone(TOKENS_TABLE),
          TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true }
        }
      }
    },
    Outputs: {
      TableName: { Value: { Ref: 'OAuthTokensTable' } },
      TableArn: { Value: { 'Fn::GetAtt': ['OAuthTokensTable', 'Arn'] } }
    }
  }
}
