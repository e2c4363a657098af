// Store errors as data: the failed condition's item comes back plain whether or not the SDK
// unmarshalled it, and StoreUnavailableError carries a name and a code, nothing of the request.
import t from 'tap'
import { conditionFailedItem, errorName, isConditionalCheckFailed, storeCall, StoreUnavailableError } from '../../src/store/errors.js'

function conditionFailed (item?: Record<string, unknown>): Error {
  const err = new Error('The conditional request failed')
  err.name = 'ConditionalCheckFailedException'
  if (item !== undefined) Object.assign(err, { Item: item })
  return err
}

t.test('conditionFailedItem unmarshalls what the DocumentClient leaves marshalled', async (t) => {
  const marshalled = conditionFailed({ userId: { S: 'u' }, version: { N: '3' }, scopes: { L: [{ S: 'a' }] }, gone: { NULL: true }, flag: { BOOL: false } })
  t.same(conditionFailedItem(marshalled), { userId: 'u', version: 3, scopes: ['a'], gone: null, flag: false })
  t.same(conditionFailedItem(conditionFailed({ userId: 'u', version: 3 })), { userId: 'u', version: 3 }, 'plain items pass through')
  t.equal(conditionFailedItem(conditionFailed()), undefined, 'no item: it did not exist')
  t.equal(conditionFailedItem(new Error('other')), undefined)
  t.equal(conditionFailedItem('not an error'), undefined)
  t.ok(isConditionalCheckFailed(marshalled))
  t.notOk(isConditionalCheckFailed({ name: 'ConditionalCheckFailedException' }), 'only real errors')
})

t.test('storeCall passes conditional failures through and types everything else', async (t) => {
  const ccf = conditionFailed()
  await t.rejects(storeCall('PutItem', async () => { throw ccf }), ccf)
  const sdkError = Object.assign(new Error('request to CANARY-host failed with CANARY-body'), { name: 'TimeoutError', $metadata: { requestId: 'CANARY' } })
  const err = await storeCall('GetItem', async () => { throw sdkError }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof StoreUnavailableError)
  t.match(err, { name: 'StoreUnavailableError', code: 'store_unavailable', message: 'DynamoDB GetItem failed: TimeoutError' })
  t.equal((err as Error).cause, sdkError, 'the cause is kept for debugging')
  t.notOk(JSON.stringify(err).includes('CANARY'), 'but never serialised')
  t.equal(await storeCall('GetItem', async () => 42), 42)
  t.equal(errorName('x'), 'string')
})
