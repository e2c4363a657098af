// The connection events the token store writes with its state changes, on DynamoDB Local: each in the
// same TransactWriteItems as its change (both or neither, the store cut mid-write included), found by
// a Query of the pending partition, never in the byExpiry index, claimed by one sender at a time.
import t, { type Test } from 'tap'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { StoreUnavailableError } from '../../src/store/errors.js'
import { createTokenStore, type TokenStore } from '../../src/store/token-store.js'
import { createWebhookOutbox } from '../../src/store/webhook-outbox.js'
import { createTestTable, dynamoEndpoint } from '../helper.js'
import { cuttableProxy, manualClock } from '../helpers/refresh.js'

const cipher = createCipher(parseEncryptionKeys(generateEncryptionKey('k1')))
const MINUTE = 60_000

async function setup (t: Test, connectionEvents = true) {
  const table = await createTestTable(t)
  const clock = manualClock()
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher, now: clock.now, connectionEvents })
  const outbox = createWebhookOutbox({ doc: table.dynamo.doc, table: table.name, now: clock.now })
  return { table, clock, store, outbox }
}

async function connect (store: TokenStore, now: () => number, userId = 'u1', expiresInMs = 60 * MINUTE) {
  return await store.saveConnection({
    userId,
    platform: 'reddit',
    account: { id: 'acct-1', username: 'name_1' },
    scopes: ['identity'],
    accessToken: 'at-CANARY',
    refreshToken: 'rt-CANARY',
    expiresAtMs: now() + expiresInMs
  })
}

t.test('needs_reauth, recovered, disconnected: each state change writes its event', async (t) => {
  const { store, outbox, clock } = await setup(t)
  const first = await connect(store, clock.now)
  t.same(await outbox.list('pending'), [], 'a first connection is no event')
  const claim = await store.claim(first, 'c1', 30_000)
  t.ok(claim.claimed)
  const marked = await store.markNeedsReauth(first, 'c1', 'invalid_grant', 30)
  t.ok(marked.written)
  t.equal(marked.written && marked.record.status, 'needs_reauth', 'the written record is answered')
  let pending = await outbox.list('pending')
  t.equal(pending.length, 1)
  t.match(pending[0], { type: 'connection.needs_reauth', userId: 'u1', platform: 'reddit', account: { id: 'acct-1', username: 'name_1' }, reason: 'invalid_grant', attempts: 0, partition: 'pending' })
  t.ok(pending[0]!.nextAttemptAtMs <= clock.now(), 'due at once')

  clock.advance(1_000)
  await connect(store, clock.now)
  pending = await outbox.list('pending')
  t.same(pending.map((e) => e.type), ['connection.needs_reauth', 'connection.recovered'], 'reconnecting a needs_reauth connection: recovered, oldest first')
  await connect(store, clock.now)
  t.equal((await outbox.list('pending')).length, 2, 'reconnecting a connected one: no event')

  const deleted = await store.deleteConnection({ userId: 'u1', platform: 'reddit' })
  t.equal(deleted?.account.id, 'acct-1', 'the deleted record is answered')
  t.equal(await store.get({ userId: 'u1', platform: 'reddit' }), undefined)
  pending = await outbox.list('pending')
  t.same(pending.map((e) => e.type), ['connection.needs_reauth', 'connection.recovered', 'connection.disconnected'])
  t.equal(pending[2]!.reason, undefined)
  t.equal(await store.deleteConnection({ userId: 'u1', platform: 'reddit' }), undefined, 'nothing to delete')
  t.equal((await outbox.list('pending')).length, 3, 'and no event for it')

  // Events never reach the refresh query, and never look like a user's connection.
  for (const platform of ['reddit', 'tiktok', 'instagram']) {
    for await (const page of store.queryDue(platform, clock.now() + 365 * 24 * 60 * MINUTE)) t.same(page, [], `${platform}: no event in byExpiry`)
  }
  t.notOk(JSON.stringify(pending).includes('CANARY'), 'no token in an event')
})

t.test('refresh_failing: once per failing streak of an expired token, cleared by a refresh', async (t) => {
  const { store, outbox, clock } = await setup(t)
  let record = await connect(store, clock.now, 'u1', -MINUTE)
  const fail = async (claimId: string) => {
    t.ok((await store.claim(record, claimId, 30_000)).claimed)
    const written = await store.recordFailure(record, claimId, 'timeout', clock.now() + 1_000)
    if (!written.written) throw new Error('not written')
    record = written.record
  }
  await fail('c1')
  await fail('c2')
  await fail('c3')
  let pending = await outbox.list('pending')
  t.same(pending.map((e) => [e.type, e.reason]), [['connection.refresh_failing', 'timeout']], 'one event for three failures')
  t.ok((await store.claim(record, 'c4', 30_000)).claimed)
  const refreshed = await store.completeRefresh(record, 'c4', { accessToken: 'at2', expiresAtMs: clock.now() - 1 })
  if (!refreshed.written) throw new Error('not written')
  t.equal(refreshed.record.refreshFailingAtMs, undefined, 'a refresh ends the streak')
  record = refreshed.record
  await fail('c5')
  pending = await outbox.list('pending')
  t.equal(pending.length, 2, 'a new streak, a new event')

  const fresh = await connect(store, clock.now, 'u2', 60 * MINUTE)
  t.ok((await store.claim(fresh, 'd1', 30_000)).claimed)
  await store.recordFailure(fresh, 'd1', 'timeout', clock.now() + 1_000)
  t.equal((await outbox.list('pending')).length, 2, 'a failure while the token is still valid is no event')
})

t.test('events off (no webhook URL): the same changes write no event', async (t) => {
  const { store, outbox, clock } = await setup(t, false)
  const record = await connect(store, clock.now)
  await store.claim(record, 'c1', 30_000)
  await store.markNeedsReauth(record, 'c1', 'invalid_grant', 30)
  await connect(store, clock.now)
  await store.deleteConnection(record)
  t.same(await outbox.list('pending'), [])
})

t.test('a lost claim: neither the state change nor its event', async (t) => {
  const { store, outbox, clock } = await setup(t)
  const record = await connect(store, clock.now)
  await store.claim(record, 'mine', 30_000)
  const result = await store.markNeedsReauth(record, 'not-mine', 'invalid_grant', 30)
  t.equal(result.written, false)
  t.equal((await store.get(record))?.status, 'connected')
  t.same(await outbox.list('pending'), [])
})

t.test('DynamoDB down while the event is written: neither the state change nor the event', async (t) => {
  const { table, clock, outbox, store } = await setup(t)
  const proxy = await cuttableProxy(t, dynamoEndpoint())
  const cutDynamo = createDynamoClients({ region: 'us-east-1', endpoint: proxy.endpoint, maxAttempts: 1 })
  t.teardown(() => cutDynamo.client.destroy())
  const viaProxy = createTokenStore({ doc: cutDynamo.doc, table: table.name, cipher, now: clock.now, connectionEvents: true, settleAttempts: 2 })
  const record = await connect(store, clock.now)
  t.ok((await viaProxy.claim(record, 'c1', 30_000)).claimed)
  proxy.cut()
  await t.rejects(viaProxy.markNeedsReauth(record, 'c1', 'invalid_grant', 30), StoreUnavailableError)
  await t.rejects(viaProxy.deleteConnection(record), StoreUnavailableError)
  proxy.restore()
  const after = await store.get(record)
  t.equal(after?.status, 'connected', 'the state change did not happen')
  t.equal(after?.version, record.version)
  t.same(await outbox.list('pending'), [], 'and no event was written')
  // Back up: the same change lands with its event.
  t.ok((await viaProxy.markNeedsReauth(record, 'c1', 'invalid_grant', 30)).written)
  t.equal((await outbox.list('pending')).length, 1)
})

t.test('outbox: two senders racing for one event, one claim; only the lease holder settles it', async (t) => {
  const { store, outbox, clock } = await setup(t)
  const record = await connect(store, clock.now)
  await store.claim(record, 'c1', 30_000)
  await store.markNeedsReauth(record, 'c1', 'invalid_grant', 30)
  const [due] = await outbox.listDue(10)
  const claims = await Promise.all(Array.from({ length: 4 }, (_, i) => outbox.claim(due!, `lease-${i}`, 15_000)))
  const winners = claims.filter((c) => c !== undefined)
  t.equal(winners.length, 1, 'one sender')
  t.equal(winners[0]!.attempts, 1)
  t.same(await outbox.listDue(10), [], 'not due while leased')
  t.equal(await outbox.delivered(due!, 'lease-other'), false, 'another lease cannot settle it')
  t.equal(await outbox.retryLater(due!, 'lease-other', 0, 'x'), false)
  clock.advance(16_000)
  t.equal((await outbox.listDue(10)).length, 1, 'due again once the lease ran out (a sender that died)')
  const leaseId = claims.findIndex((c) => c !== undefined)
  t.equal(await outbox.delivered(due!, `lease-${leaseId}`), true, 'the holder settles it')
  t.same(await outbox.list('pending'), [])
})
