// The one DynamoDB helper module on DynamoDB Local through the real SDK: a conditional write that lands,
// one whose condition fails (answered typed, with the item the condition saw), errors that are not the
// condition (a StoreUnavailableError carrying the SDK error), and a Query read page by page.
import { PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { attributeNames, conditionalWrite, queryPages } from '../../src/store/dynamodb-calls.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { StoreUnavailableError } from '../../src/store/errors.js'
import { createTestTable, dynamoEndpoint } from '../helper.js'

const table = await createTestTable(t, 'calls')
const { doc } = table.dynamo

const causeName = (err: unknown): string | undefined => err instanceof Error && err.cause instanceof Error ? err.cause.name : undefined

/** Sets `n` on an item only if it still holds `seen` (absent when `seen` is undefined). */
function updateIfSeen (userId: string, seen: number | undefined, n: number) {
  return {
    TableName: table.name,
    Key: { userId, platform: 'p' },
    UpdateExpression: 'SET #n = :n',
    ConditionExpression: seen === undefined ? 'attribute_not_exists(#n)' : '#n = :seen',
    ExpressionAttributeNames: attributeNames('n'),
    ExpressionAttributeValues: { ':n': n, ...(seen === undefined ? {} : { ':seen': seen }) }
  }
}

function setIfSeen (userId: string, seen: number | undefined, n: number): UpdateCommand {
  return new UpdateCommand({ ...updateIfSeen(userId, seen, n), ReturnValues: 'ALL_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })
}

t.test('attributeNames maps each attribute to its #placeholder', async (t) => {
  t.same(attributeNames('expiresAt', 'status'), { '#expiresAt': 'expiresAt', '#status': 'status' })
  t.same(attributeNames(), {})
})

t.test('a conditional write that lands answers applied, with the SDK output', async (t) => {
  const sent = await conditionalWrite('UpdateItem', () => doc.send(setIfSeen('ok', undefined, 1)))
  t.equal(sent.applied, true)
  t.match(sent.applied && sent.output.Attributes, { userId: 'ok', platform: 'p', n: 1 })
})

t.test('a lost condition is an answer: applied false, with the item the condition saw (ALL_OLD)', async (t) => {
  await conditionalWrite('UpdateItem', () => doc.send(setIfSeen('lost', undefined, 7)))
  const sent = await conditionalWrite('UpdateItem', () => doc.send(setIfSeen('lost', 6, 8)))
  t.same(sent, { applied: false, item: { userId: 'lost', platform: 'p', n: 7 } }, 'plain values, not { N: "7" }')

  // The condition saw no item at all: applied false, item undefined.
  const absent = await conditionalWrite('UpdateItem', () => doc.send(new UpdateCommand({
    TableName: table.name,
    Key: { userId: 'never-written', platform: 'p' },
    UpdateExpression: 'SET #n = :n',
    ConditionExpression: 'attribute_exists(#n)',
    ExpressionAttributeNames: attributeNames('n'),
    ExpressionAttributeValues: { ':n': 1 },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
  })))
  t.same(absent, { applied: false, item: undefined })
})

t.test('a transaction whose item 0 fails its condition is a lost condition, with that item', async (t) => {
  await conditionalWrite('UpdateItem', () => doc.send(setIfSeen('tx', undefined, 1)))
  const sent = await conditionalWrite('TransactWriteItems', () => doc.send(new TransactWriteCommand({
    TransactItems: [
      { Update: { ...updateIfSeen('tx', 5, 2), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      { Put: { TableName: table.name, Item: { userId: 'tx-event', platform: 'p' } } }
    ]
  })))
  t.same(sent, { applied: false, item: { userId: 'tx', platform: 'p', n: 1 } })
})

t.test('any other failure is a StoreUnavailableError carrying the SDK error as its cause', async (t) => {
  // DynamoDB refuses the request itself (an unused placeholder): not a condition.
  const invalid = await conditionalWrite('PutItem', () => doc.send(new PutCommand({
    TableName: table.name,
    Item: { userId: 'bad', platform: 'p' },
    ConditionExpression: 'attribute_not_exists(#n)',
    ExpressionAttributeNames: attributeNames('n', 'unused')
  }))).then(() => undefined, (err: unknown) => err)
  t.type(invalid, StoreUnavailableError)
  t.match(invalid, { code: 'store_unavailable', message: 'DynamoDB PutItem failed: ValidationException' })
  t.equal(causeName(invalid), 'ValidationException')

  // A transaction cancelled by an item other than the state change (item 1 here) is not a lost condition.
  await conditionalWrite('PutItem', () => doc.send(new PutCommand({ TableName: table.name, Item: { userId: 'taken', platform: 'p' } })))
  const canceled = await conditionalWrite('TransactWriteItems', () => doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: table.name, Item: { userId: 'fresh', platform: 'p' } } },
      { Put: { TableName: table.name, Item: { userId: 'taken', platform: 'p' }, ConditionExpression: 'attribute_not_exists(#userId)', ExpressionAttributeNames: attributeNames('userId') } }
    ]
  }))).then(() => undefined, (err: unknown) => err)
  t.type(canceled, StoreUnavailableError)
  t.equal(causeName(canceled), 'TransactionCanceledException')

  // Nothing listens: the network error is the cause.
  const dead = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1, connectionTimeoutMs: 500 })
  t.teardown(() => dead.client.destroy())
  const down = await conditionalWrite('UpdateItem', () => dead.doc.send(setIfSeen('down', undefined, 1))).then(() => undefined, (err: unknown) => err)
  t.type(down, StoreUnavailableError)
  t.type(causeName(down), 'string', 'the SDK error is kept as the cause')
  t.notOk(Object.keys(down as object).includes('cause'), 'and kept off JSON and log serialisers')
})

t.test('queryPages reads every page of a Query, Limit items at a time, and stops when the reader does', async (t) => {
  const userId = 'paged'
  for (let i = 0; i < 7; i++) await doc.send(new PutCommand({ TableName: table.name, Item: { userId, platform: `p${i}` } }))
  const params = {
    TableName: table.name,
    KeyConditionExpression: '#userId = :userId',
    ExpressionAttributeNames: attributeNames('userId'),
    ExpressionAttributeValues: { ':userId': userId },
    Limit: 3
  }
  let queries = 0
  const counting = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  t.teardown(() => counting.client.destroy())
  counting.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'QueryCommand') queries++
    return await next(args)
  }, { step: 'initialize', name: 'countQueries' })
  const pages: string[][] = []
  for await (const page of queryPages(counting.doc, params)) pages.push((page.Items ?? []).map((item) => String(item.platform)))
  t.equal(queries, pages.length, 'one Query per page')
  t.ok(pages.length >= 3, `three pages or more at Limit 3 (DynamoDB may end with an empty one): ${pages.length}`)
  t.ok(pages.every((p) => p.length <= 3), 'no page holds more than Limit')
  t.same(pages.flat(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'], 'every item once, in key order')
  t.notOk('ExclusiveStartKey' in params, 'the caller\'s params are not changed')

  queries = 0
  const reader = queryPages(counting.doc, params)
  const first = await reader.next()
  t.equal(first.done === false ? first.value.Items?.length : undefined, 3)
  await reader.return(undefined)
  t.equal(queries, 1, 'a reader that stops (break, return) asks for no further page')
})
