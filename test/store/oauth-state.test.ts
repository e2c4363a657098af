import t from 'tap'
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { createOAuthStateStore, STATE_LIFETIME_MS } from '../../src/store/oauth-state.js'
import { consumeStateParams, putStateParams, stateItemKey } from '../../src/store/oauth-state-params.js'
import { createTestTable } from '../helper.js'

t.test('parameters as data', async (t) => {
  t.same(stateItemKey({ state: 's1', platform: 'tiktok' }), { userId: 'oauth-state#s1', platform: 'tiktok' })
  t.match(putStateParams('tbl', { userId: 'oauth-state#s1' }), { ConditionExpression: 'attribute_not_exists(#userId)' })
  const consume = consumeStateParams('tbl', { state: 's1', platform: 'reddit' }, { bindingHash: 'h', nowMs: 5 })
  t.equal(consume.ConditionExpression, 'attribute_exists(#userId) AND #validUntilMs > :nowMs AND #bindingHash = :bindingHash')
  t.equal(consume.ReturnValues, 'ALL_OLD')
  t.same(consume.Key, { userId: 'oauth-state#s1', platform: 'reddit' })
  const withUser = consumeStateParams('tbl', { state: 's1', platform: 'reddit' }, { bindingHash: 'h', nowMs: 5, ownerUserId: 'u' })
  t.match(withUser.ConditionExpression, /#ownerUserId = :ownerUserId$/)
  t.equal(withUser.ExpressionAttributeValues?.[':ownerUserId'], 'u')
})

t.test('on DynamoDB Local', async (t) => {
  const table = await createTestTable(t, 'oauth-state')
  let nowMs = Date.now()
  const cipher = createCipher(parseEncryptionKeys(generateEncryptionKey('k1')))
  const store = createOAuthStateStore({ doc: table.dynamo.doc, table: table.name, cipher, now: () => nowMs })
  const base = { platform: 'tiktok', ownerUserId: 'user-a', bindingHash: 'hash-1', returnTo: '/settings', codeVerifier: 'verifier-canary-0123456789' }
  const rawItem = async (state: string, platform = 'tiktok'): Promise<Record<string, unknown> | undefined> =>
    (await table.dynamo.doc.send(new GetCommand({ TableName: table.name, Key: stateItemKey({ state, platform }), ConsistentRead: true }))).Item

  t.test('the item: ttl in seconds, never expiresAt, verifier sealed', async (t) => {
    const { validUntilMs } = await store.save({ ...base, state: 'item-shape' })
    t.equal(validUntilMs, nowMs + STATE_LIFETIME_MS)
    const item = await rawItem('item-shape')
    t.ok(item)
    t.notOk('expiresAt' in (item ?? {}), 'a state item never enters the byExpiry index')
    t.equal(item?.ttl, Math.ceil(validUntilMs / 1000))
    t.notMatch(JSON.stringify(item), /verifier-canary/)
    t.equal(item?.ownerUserId, 'user-a')
  })

  t.test('consumed once; the replay fails', async (t) => {
    await store.save({ ...base, state: 'once' })
    const first = await store.consume({ state: 'once', platform: 'tiktok' }, { bindingHash: 'hash-1' })
    t.same(first, { consumed: true, state: { ownerUserId: 'user-a', returnTo: '/settings', codeVerifier: base.codeVerifier } })
    t.same(await store.consume({ state: 'once', platform: 'tiktok' }, { bindingHash: 'hash-1' }), { consumed: false, reason: 'unknown_state' })
    t.equal(await rawItem('once'), undefined)
  })

  t.test('two concurrent consumers: exactly one wins', async (t) => {
    await store.save({ ...base, state: 'race' })
    const results = await Promise.all([1, 2, 3, 4].map(async () => await store.consume({ state: 'race', platform: 'tiktok' }, { bindingHash: 'hash-1' })))
    t.equal(results.filter((r) => r.consumed).length, 1)
  })

  t.test('another platform\'s callback does not find it', async (t) => {
    await store.save({ ...base, state: 'mixup' })
    t.same(await store.consume({ state: 'mixup', platform: 'reddit' }, { bindingHash: 'hash-1' }), { consumed: false, reason: 'unknown_state' })
    t.ok(await rawItem('mixup'), 'the right platform can still use it')
  })

  t.test('another browser\'s cookie neither consumes nor burns it', async (t) => {
    await store.save({ ...base, state: 'browser' })
    t.same(await store.consume({ state: 'browser', platform: 'tiktok' }, { bindingHash: 'other' }), { consumed: false, reason: 'browser_mismatch' })
    t.ok(await rawItem('browser'))
  })

  t.test('another signed-in user is refused', async (t) => {
    await store.save({ ...base, state: 'user' })
    t.same(await store.consume({ state: 'user', platform: 'tiktok' }, { bindingHash: 'hash-1', ownerUserId: 'user-b' }), { consumed: false, reason: 'user_mismatch' })
    t.match(await store.consume({ state: 'user', platform: 'tiktok' }, { bindingHash: 'hash-1', ownerUserId: 'user-a' }), { consumed: true })
  })

  t.test('expired after ten minutes even before the TTL purge', async (t) => {
    await store.save({ ...base, state: 'old' })
    nowMs += STATE_LIFETIME_MS
    t.same(await store.consume({ state: 'old', platform: 'tiktok' }, { bindingHash: 'hash-1' }), { consumed: false, reason: 'expired_state' })
    nowMs -= STATE_LIFETIME_MS
  })

  t.test('a flow without PKCE has no verifier', async (t) => {
    await store.save({ ...base, state: 'nopkce', platform: 'reddit', codeVerifier: undefined })
    t.same(await store.consume({ state: 'nopkce', platform: 'reddit' }, { bindingHash: 'hash-1' }), { consumed: true, state: { ownerUserId: 'user-a', returnTo: '/settings', codeVerifier: undefined } })
  })
})

t.test('a sealed verifier moved to another state item does not open: the state is refused', async (t) => {
  const table = await createTestTable(t, 'oauth-state-moved')
  const cipher = createCipher(parseEncryptionKeys(generateEncryptionKey('k1')))
  const store = createOAuthStateStore({ doc: table.dynamo.doc, table: table.name, cipher })
  const base = { platform: 'tiktok', ownerUserId: 'user-a', bindingHash: 'h', returnTo: '/' }
  await store.save({ ...base, state: 'source', codeVerifier: 'v-source' })
  await store.save({ ...base, state: 'target', codeVerifier: 'v-target' })
  const key = (state: string): Record<string, string> => stateItemKey({ state, platform: 'tiktok' })
  const { Item } = await table.dynamo.doc.send(new GetCommand({ TableName: table.name, Key: key('source') }))
  await table.dynamo.doc.send(new UpdateCommand({
    TableName: table.name,
    Key: key('target'),
    UpdateExpression: 'SET codeVerifierEnc = :v',
    ExpressionAttributeValues: { ':v': Item?.codeVerifierEnc }
  }))
  t.same(await store.consume({ state: 'target', platform: 'tiktok' }, { bindingHash: 'h' }), { consumed: false, reason: 'unreadable_state' })
})
