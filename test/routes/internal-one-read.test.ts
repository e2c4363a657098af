// One internal read reads its item once (issue 17): the handout decides on its one consistent read and
// hands that item to the refresh, which goes straight to the claim, and answers from what the refresh
// last saw. Counted on the wire, by a proxy in front of DynamoDB Local, for each way a handout can end.
// (Webhooks off: with them on, a state change and its event are one transaction, and the store reads the
// item back after it, since a transaction returns no item.)
import t, { type Test } from 'tap'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { batchGetProxy, type BatchGetProxy } from '../helpers/batch-get-proxy.js'
import { manualClock, seedTokens } from '../helpers/refresh.js'
import { buildApp, createTestTable, dynamoEndpoint, testConfig } from '../helper.js'

const KEY = 'internal-key-0123456789abcdef'
const MINUTE = 60_000
const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems'])

async function setup (t: Test) {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t, { rotate: true })
  const proxy = await batchGetProxy(t, dynamoEndpoint())
  const clock = manualClock()
  const config = testConfig({ TOKENS_TABLE: table.name, DYNAMODB_ENDPOINT: proxy.endpoint, INTERNAL_API_KEY: KEY, PROVIDER_TIMEOUT_MS: '1000', ...reddit.env() })
  const app = await buildApp(t, { config, clock: clock.now })
  // Seeded beside the proxy: only the handout's own calls go through it.
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: clock.now })
  const seed = async (expiresInMs: number) => (await seedTokens(store, reddit, 1, { expiresInMs, now: clock.now }))[0]!
  const handOut = async (userId: string, query = '') => {
    proxy.calls.length = 0
    return await app.inject({ method: 'GET', url: `/api/internal/tokens/${userId}/reddit${query}`, headers: { authorization: `Bearer ${KEY}` } })
  }
  return { reddit, proxy, store, seed, handOut }
}

const readsOf = (proxy: BatchGetProxy, userId: string): string[] =>
  proxy.calls.filter((c) => READS.has(c.operation) && (c.userId === undefined || c.userId === userId)).map((c) => c.operation)
const writesOf = (proxy: BatchGetProxy): string[] => proxy.calls.filter((c) => !READS.has(c.operation)).map((c) => c.operation)

t.test('a fresh token: one GetItem, no write', async (t) => {
  const { proxy, seed, handOut } = await setup(t)
  const token = await seed(60 * MINUTE)
  const res = await handOut(token.userId)
  t.equal(res.statusCode, 200)
  t.same(readsOf(proxy, token.userId), ['GetItem'])
  t.same(writesOf(proxy), [])
})

t.test('a token refreshed first: one GetItem, then the claim and the write', async (t) => {
  const { proxy, reddit, seed, handOut } = await setup(t)
  const token = await seed(2 * MINUTE)
  const res = await handOut(token.userId)
  t.equal(res.statusCode, 200)
  t.not(res.json().accessToken, token.accessToken, 'refreshed')
  t.equal(reddit.requestsTo('refresh').length, 1)
  t.same(readsOf(proxy, token.userId), ['GetItem'], 'the refresh took the item the handout read')
  t.same(writesOf(proxy), ['UpdateItem', 'UpdateItem'], 'claim, then the new tokens under it')
})

t.test('forced: one GetItem, the force slot, the claim and the write', async (t) => {
  const { proxy, reddit, seed, handOut } = await setup(t)
  const token = await seed(60 * MINUTE)
  const res = await handOut(token.userId, '?force=true')
  t.equal(res.statusCode, 200)
  t.equal(reddit.requestsTo('refresh').length, 1)
  t.same(readsOf(proxy, token.userId), ['GetItem'])
  t.same(writesOf(proxy), ['UpdateItem', 'UpdateItem', 'UpdateItem'])
})

t.test('the provider failing while the token is still valid: one GetItem; the answer comes from the failure write', async (t) => {
  const { proxy, reddit, seed, handOut } = await setup(t)
  const token = await seed(2 * MINUTE)
  reddit.failNext('refresh', { kind: 'status', status: 500 })
  const res = await handOut(token.userId)
  t.equal(res.statusCode, 200)
  t.equal(res.json().accessToken, token.accessToken, 'the stored token')
  t.same(readsOf(proxy, token.userId), ['GetItem'])
  t.same(writesOf(proxy), ['UpdateItem', 'UpdateItem'], 'claim, then the failure recorded under it')
})

t.test('the provider failing after expiry: one GetItem, 503', async (t) => {
  const { proxy, reddit, seed, handOut } = await setup(t)
  const token = await seed(-MINUTE)
  reddit.failNext('refresh', { kind: 'status', status: 500 })
  const res = await handOut(token.userId)
  t.equal(res.statusCode, 503)
  t.same(readsOf(proxy, token.userId), ['GetItem'])
})

t.test('invalid_grant: one GetItem; the write under the claim decides needs_reauth, no read before it', async (t) => {
  const { proxy, reddit, seed, store, handOut } = await setup(t)
  const token = await seed(2 * MINUTE)
  reddit.failNext('refresh', { kind: 'invalid_grant' })
  const res = await handOut(token.userId)
  t.equal(res.statusCode, 409)
  t.same(readsOf(proxy, token.userId), ['GetItem'])
  t.same(writesOf(proxy), ['UpdateItem', 'UpdateItem'])
  t.match(await store.get({ userId: token.userId, platform: 'reddit' }), { status: 'needs_reauth', lastError: 'invalid_grant' })
})

t.test('in backoff: one GetItem and no write, the stored token handed out', async (t) => {
  const { proxy, reddit, seed, handOut } = await setup(t)
  const token = await seed(2 * MINUTE)
  reddit.failNext('refresh', { kind: 'status', status: 500 })
  await handOut(token.userId)
  const res = await handOut(token.userId)
  t.equal(res.statusCode, 200)
  t.equal(reddit.requestsTo('refresh').length, 1, 'backoff holds')
  t.same(readsOf(proxy, token.userId), ['GetItem'])
  t.same(writesOf(proxy), [])
})
