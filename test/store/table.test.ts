// The one table definition: the committed CloudFormation file is generated from it, describes the
// same table ensureTable creates, and ensureTable is idempotent with TTL on.
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { DeleteTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { renderTemplate, TEMPLATE_PATH } from '../../scripts/write-table-template.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { BY_EXPIRY_INDEX, cloudFormationTemplate, createTableParams, DEFAULT_TABLE_NAME, ensureTable, TTL_ATTRIBUTE } from '../../src/store/table.js'
import { dynamoEndpoint } from '../helper.js'

interface KeyElement { AttributeName?: string | undefined, KeyType?: string | undefined }
interface Index { IndexName?: string | undefined, KeySchema?: KeyElement[] | undefined, Projection?: { ProjectionType?: string | undefined, NonKeyAttributes?: string[] | undefined } | undefined }
interface TableShape {
  AttributeDefinitions?: Array<{ AttributeName?: string | undefined, AttributeType?: string | undefined }> | undefined
  KeySchema?: KeyElement[] | undefined
  GlobalSecondaryIndexes?: Index[] | undefined
}

/** The parts both descriptions must agree on, in a comparable order. */
function shape (table: TableShape, billingMode: string | undefined, ttlAttribute: string | undefined): Record<string, unknown> {
  return {
    attributes: [...(table.AttributeDefinitions ?? [])].map((a) => `${a.AttributeName}:${a.AttributeType}`).sort(),
    keys: (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`),
    indexes: (table.GlobalSecondaryIndexes ?? []).map((i) => ({
      name: i.IndexName,
      keys: (i.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`),
      projection: i.Projection?.ProjectionType,
      nonKey: [...(i.Projection?.NonKeyAttributes ?? [])].sort()
    })),
    billingMode,
    ttlAttribute
  }
}

const template = cloudFormationTemplate()
const resource = (template.Resources as Record<string, { Type: string, Properties: TableShape & Record<string, unknown> }>).OAuthTokensTable
const properties = resource?.Properties ?? {}
const templateShape = shape(properties, properties.BillingMode as string, (properties.TimeToLiveSpecification as { AttributeName?: string } | undefined)?.AttributeName)

t.test('infra/oauth-tokens-table.json is the committed output of cloudFormationTemplate()', async (t) => {
  const committed = readFileSync(TEMPLATE_PATH, 'utf8')
  t.same(JSON.parse(committed), template, 'deep-equal: run `npm run infra:table` after changing src/store/table.ts')
  t.equal(committed, renderTemplate(), 'byte-equal')
  t.equal(resource?.Type, 'AWS::DynamoDB::Table')
  t.same(properties.TableName, { Ref: 'TableName' })
  t.equal((template.Parameters as { TableName: { Default: string } }).TableName.Default, DEFAULT_TABLE_NAME)
  t.same(properties.TimeToLiveSpecification, { AttributeName: 'ttl', Enabled: true })
})

t.test('createTableParams and the template describe the same keys, index, projection, billing and TTL', async (t) => {
  const params = createTableParams('x-table')
  t.equal(params.TableName, 'x-table')
  t.same(shape(params, params.BillingMode, TTL_ATTRIBUTE), templateShape)
  t.same(templateShape, {
    attributes: ['expiresAt:N', 'platform:S', 'userId:S'],
    keys: ['userId:HASH', 'platform:RANGE'],
    indexes: [{ name: BY_EXPIRY_INDEX, keys: ['platform:HASH', 'expiresAt:RANGE'], projection: 'KEYS_ONLY', nonKey: [] }],
    billingMode: 'PAY_PER_REQUEST',
    ttlAttribute: 'ttl'
  }, 'the contract: userId/platform, byExpiry on platform/expiresAt (N), KEYS_ONLY, on demand, ttl')
  // CloudFormation refuses attribute definitions no key uses.
  const keyed = new Set([...params.KeySchema ?? [], ...(params.GlobalSecondaryIndexes ?? []).flatMap((i) => i.KeySchema ?? [])].map((k) => k.AttributeName))
  t.ok((params.AttributeDefinitions ?? []).every((a) => keyed.has(a.AttributeName)), 'every attribute definition is a key')
  // A fresh copy each call: no caller can mutate the one definition.
  ;(params.KeySchema ?? []).pop()
  t.equal(createTableParams('y').KeySchema?.length, 2)
})

t.test('ensureTable is idempotent, creates what the template describes, and leaves TTL enabled', async (t) => {
  const { client } = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  const name = `table-${randomUUID().slice(0, 8)}`
  t.teardown(async () => {
    await client.send(new DeleteTableCommand({ TableName: name })).catch(() => {})
    client.destroy()
  })
  t.same(await ensureTable(client, name), { created: true, ttlEnabled: true })
  t.same(await ensureTable(client, name), { created: false, ttlEnabled: true }, 'second call creates nothing')

  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }))
  const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }))
  t.equal(Table?.TableStatus, 'ACTIVE')
  t.equal(TimeToLiveDescription?.TimeToLiveStatus, 'ENABLED')
  t.same(shape(Table ?? {}, Table?.BillingModeSummary?.BillingMode, TimeToLiveDescription?.AttributeName), templateShape, 'the live table matches the template')
})
