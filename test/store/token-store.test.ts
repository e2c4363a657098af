// The token store on DynamoDB Local through the real SDK: encryption at rest, versions, claims,
// needs_reauth and the sparse index, and a store that does not answer.
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { createCipher, generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { StoreUnavailableError } from '../../src/store/errors.js'
import { ATTR, type TokenRecord } from '../../src/store/token-item.js'
import type { NewConnection } from '../../src/store/connection-writes.js'
import { tokenKeyId, type DueKey } from '../../src/store/token-reads.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { createTestTable, dynamoEndpoint } from '../helper.js'
import { batchGetProxy } from '../helpers/batch-get-proxy.js'

const table = await createTestTable(t, 'tokens')
const cipher = createCipher(parseEncryptionKeys(generateEncryptionKey('k1')))
// A movable clock near real time: TTLs must stay in the future or DynamoDB Local deletes the items.
let nowMs = Date.now()
const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher, now: () => nowMs })
const HOUR = 3_600_000

let users = 0
function connection (overrides: Partial<NewConnection> = {}): NewConnection {
  users++
  return {
    userId: `user-${users}`,
    platform: 'tiktok',
    account: { id: `acct-${users}`, username: `name-${users}` },
    scopes: ['user.info.basic'],
    accessToken: `CANARY-ACCESS-${users}-${Math.random()}`,
    refreshToken: `CANARY-REFRESH-${users}-${Math.random()}`,
    expiresAtMs: nowMs + 2 * HOUR,
    ...overrides
  }
}

function must<T> (value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value')
  return value
}

async function rawItem (key: { userId: string, platform: string }): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.dynamo.doc.send(new GetCommand({ TableName: table.name, Key: { userId: key.userId, platform: key.platform }, ConsistentRead: true }))
  return Item
}

async function claimed (record: TokenRecord, claimId = 'run-a', leaseMs = 60_000): Promise<TokenRecord> {
  const result = await store.claim(record, claimId, leaseMs)
  if (!result.claimed) throw new Error(`claim failed: ${result.reason}`)
  const current = must(await store.get(record))
  if (current === undefined) throw new Error('claimed record vanished')
  return current
}

t.test('saveConnection, get and openSecrets round trip', async (t) => {
  const c = connection()
  const saved = await store.saveConnection(c)
  t.equal(saved.version, 1)
  const read = must(await store.get(c))
  t.match(read, {
    userId: c.userId,
    platform: 'tiktok',
    status: 'connected',
    version: 1,
    account: c.account,
    scopes: c.scopes,
    expiresAtMs: c.expiresAtMs,
    hasRefreshToken: true,
    attempts: 0,
    issuedAtMs: nowMs
  })
  t.same(store.openSecrets(read), { accessToken: c.accessToken, refreshToken: c.refreshToken })
  t.same((await store.listByUser(c.userId)).map((r) => r.platform), ['tiktok'])
  t.equal(await store.get({ userId: 'nobody', platform: 'tiktok' }), undefined)
})

t.test('the raw item holds no plaintext token anywhere', async (t) => {
  const c = connection()
  await store.saveConnection(c)
  const item = await rawItem(c)
  const text = JSON.stringify(item)
  t.notOk(text.includes(c.accessToken), 'no access token')
  t.notOk(text.includes(c.refreshToken ?? 'x'), 'no refresh token')
  t.notOk(text.includes('CANARY'), 'no canary fragment')
  t.match(item?.[ATTR.accessToken], /^v1\.k1\./)
  t.match(item?.[ATTR.refreshToken], /^v1\.k1\./)
})

t.test('a ciphertext moved to another item does not open', async (t) => {
  const a = connection()
  const b = connection()
  await store.saveConnection(a)
  await store.saveConnection(b)
  const sealedA = (await rawItem(a))?.[ATTR.accessToken]
  await table.dynamo.doc.send(new UpdateCommand({
    TableName: table.name,
    Key: { userId: b.userId, platform: b.platform },
    UpdateExpression: 'SET #a = :a',
    ExpressionAttributeNames: { '#a': ATTR.accessToken },
    ExpressionAttributeValues: { ':a': sealedA }
  }))
  const moved = must(await store.get(b))
  t.throws(() => store.openSecrets(moved), { name: 'CryptoError', code: 'authentication_failed' })
})

t.test('reconnecting replaces the grant: version + 1, no needs_reauth, ttl, claim or failures', async (t) => {
  const c = connection()
  const first = await store.saveConnection(c)
  const mine = await claimed(first)
  const marked = await store.markNeedsReauth(mine, 'run-a', 'invalid_grant', 30)
  t.equal(marked.written, true)
  const again = await store.saveConnection({ ...c, accessToken: 'CANARY-NEW-ACCESS', refreshToken: 'CANARY-NEW-REFRESH' })
  t.equal(again.version, 3)
  const item = await rawItem(c)
  t.equal(item?.[ATTR.status], 'connected')
  for (const gone of [ATTR.ttl, ATTR.claimId, ATTR.claimUntilMs, ATTR.lastError, ATTR.needsReauthAtMs, ATTR.nextAttemptAtMs]) {
    t.notOk(item !== undefined && gone in item, `${gone} is cleared`)
  }
  t.equal(item?.[ATTR.dueAt], c.expiresAtMs, 'back in the index')
  const read = must(await store.get(c))
  t.same(store.openSecrets(read), { accessToken: 'CANARY-NEW-ACCESS', refreshToken: 'CANARY-NEW-REFRESH' })
})

t.test('two concurrent saveConnection land one after the other, the final item whole', async (t) => {
  const base = connection()
  const a = { ...base, account: { id: 'acct-A', username: 'A' }, accessToken: 'CANARY-A', refreshToken: 'CANARY-RA' }
  const b = { ...base, account: { id: 'acct-B', username: 'B' }, accessToken: 'CANARY-B', refreshToken: 'CANARY-RB' }
  const [ra, rb] = await Promise.all([store.saveConnection(a), store.saveConnection(b)])
  t.same([ra.version, rb.version].sort(), [1, 2], 'distinct versions, in sequence')
  const final = must(await store.get(base))
  t.equal(final.version, 2)
  const winner = ra.version === 2 ? 'A' : 'B'
  t.same(final.account, { id: `acct-${winner}`, username: winner })
  t.same(store.openSecrets(final), { accessToken: `CANARY-${winner}`, refreshToken: `CANARY-R${winner}` }, 'account and tokens of the same writer')
})

t.test('claim-loser-reads-marshalled-item: 10 concurrent claims, exactly one wins, the others are typed', async (t) => {
  const record = await store.saveConnection(connection())
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claim(record, `claim-${i}`, 60_000)))
  const winners = results.filter((r) => r.claimed)
  t.equal(winners.length, 1, 'one winner')
  for (const r of results) {
    if (r.claimed) continue
    t.equal(r.reason, 'claimed_by_other')
    // Before err.Item was unmarshalled, the loser saw version 0 and reported version_changed.
    t.equal(r.current?.version, record.version)
    t.equal(r.current?.claimId, winners[0]?.claimed === true ? winners[0].claimId : 'none')
  }
})

t.test('a claim on a changed version is version_changed; on a missing item gone; on needs_reauth not_connected', async (t) => {
  const record = await store.saveConnection(connection())
  await store.saveConnection({ ...connection(), userId: record.userId })
  const stale = await store.claim(record, 'c1', 60_000)
  t.match(stale, { claimed: false, reason: 'version_changed', current: { version: 2 } })
  t.same(await store.claim({ ...record, userId: 'nobody-here' }, 'c2', 60_000), { claimed: false, reason: 'gone' })
  const current = must(await store.get(record))
  const mine = await claimed(current, 'c3')
  await store.markNeedsReauth(mine, 'c3', 'invalid_grant', 30)
  const after = must(await store.get(record))
  t.match(await store.claim(after, 'c4', 60_000), { claimed: false, reason: 'not_connected' })
})

t.test('a claim whose claimUntilMs has passed can be taken over', async (t) => {
  const record = await store.saveConnection(connection())
  const first = await store.claim(record, 'dead-run', 1_000)
  t.equal(first.claimed, true)
  t.match(await store.claim(record, 'next-run', 60_000), { claimed: false, reason: 'claimed_by_other' })
  nowMs += 1_001
  const second = await store.claim(record, 'next-run', 60_000)
  t.match(second, { claimed: true, claimId: 'next-run', claimUntilMs: nowMs + 60_000 })
})

t.test('completeRefresh with a rotated refresh token stores both in one write and drops the claim', async (t) => {
  const c = connection()
  const mine = await claimed(await store.saveConnection(c))
  const result = await store.completeRefresh(mine, 'run-a', { accessToken: 'CANARY-ACCESS-2', refreshToken: 'CANARY-REFRESH-2', expiresAtMs: nowMs + 4 * HOUR, scopes: ['a', 'b'] })
  if (!result.written) throw new Error('not written')
  t.match(result.record, { version: 2, expiresAtMs: nowMs + 4 * HOUR, lastRefreshedAtMs: nowMs, attempts: 0, scopes: ['a', 'b'], claimId: undefined, claimUntilMs: undefined })
  t.same(store.openSecrets(result.record), { accessToken: 'CANARY-ACCESS-2', refreshToken: 'CANARY-REFRESH-2' })
  t.equal((await rawItem(c))?.[ATTR.lastClaimId], 'run-a')
})

t.test('completeRefresh without a refresh token keeps the stored one, never empties it', async (t) => {
  const c = connection()
  const mine = await claimed(await store.saveConnection(c))
  const result = await store.completeRefresh(mine, 'run-a', { accessToken: 'CANARY-ACCESS-3', expiresAtMs: nowMs + HOUR })
  if (!result.written) throw new Error('not written')
  t.same(store.openSecrets(result.record), { accessToken: 'CANARY-ACCESS-3', refreshToken: c.refreshToken })
  t.same(await store.get(c).then((r) => r === undefined ? undefined : store.openSecrets(r)), { accessToken: 'CANARY-ACCESS-3', refreshToken: c.refreshToken })
})

t.test('a refresh write whose answer was lost settles as written by re-checking, and no other write settles so', async (t) => {
  // A real proxy in front of DynamoDB Local that lets the first UpdateItem land, then cuts the
  // connection before its answer reaches us: the store cannot know whether its write happened.
  let dropNextUpdate = false
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const upstream = httpRequest(dynamoEndpoint(), { method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const drop = dropNextUpdate && String(req.headers['x-amz-target']).endsWith('.UpdateItem')
        if (drop) {
          dropNextUpdate = false
          answer.resume()
          answer.on('end', () => req.socket.destroy())
          return
        }
        res.writeHead(answer.statusCode ?? 500, answer.headers)
        answer.pipe(res)
      })
      upstream.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { proxy.closeAllConnections(); proxy.close(() => resolve()) }))
  const address = proxy.address() as AddressInfo
  const flaky = createDynamoClients({ region: 'us-east-1', endpoint: `http://127.0.0.1:${address.port}`, maxAttempts: 1 })
  t.teardown(() => flaky.client.destroy())
  const viaProxy = createTokenStore({ doc: flaky.doc, table: table.name, cipher, now: () => nowMs })

  const c = connection()
  const mine = await claimed(await store.saveConnection(c))
  dropNextUpdate = true
  const result = await viaProxy.completeRefresh(mine, 'run-a', { accessToken: 'CANARY-ACCESS-4', refreshToken: 'CANARY-REFRESH-4', expiresAtMs: nowMs + HOUR })
  t.equal(dropNextUpdate, false, 'the first answer was really lost')
  t.match(result, { written: true, record: { version: 2 } })
  t.same(store.openSecrets(must(await store.get(c))), { accessToken: 'CANARY-ACCESS-4', refreshToken: 'CANARY-REFRESH-4' })

  // The same claim and read version but other tokens (a second answer under one claim) is not ours.
  const again = await store.completeRefresh(mine, 'run-a', { accessToken: 'CANARY-OTHER', expiresAtMs: nowMs + HOUR })
  t.match(again, { written: false, reason: 'lost_claim', current: { version: 2 } })
  t.equal(store.openSecrets(must(await store.get(c))).accessToken, 'CANARY-ACCESS-4')
})

t.test('completeRefresh under a lost claim or a stale version is lost_claim and overwrites nothing', async (t) => {
  const c = connection()
  const mine = await claimed(await store.saveConnection(c), 'slow-run', 1_000)
  nowMs += 1_001
  const theirs = await claimed(mine, 'fast-run')
  const lost = await store.completeRefresh(mine, 'slow-run', { accessToken: 'CANARY-STALE', refreshToken: 'CANARY-STALE-R', expiresAtMs: nowMs + HOUR })
  t.match(lost, { written: false, reason: 'lost_claim', current: { claimId: 'fast-run', version: 1 } })
  const stored = must(await store.get(c))
  t.same(store.openSecrets(stored), { accessToken: c.accessToken, refreshToken: c.refreshToken }, 'nothing overwritten')

  const done = await store.completeRefresh(theirs, 'fast-run', { accessToken: 'CANARY-FAST', expiresAtMs: nowMs + HOUR })
  t.equal(done.written, true)
  // Same claim id, but the version it read is gone: still lost.
  const staleVersion = await store.completeRefresh(theirs, 'fast-run', { accessToken: 'CANARY-STALE-2', expiresAtMs: nowMs + HOUR })
  t.match(staleVersion, { written: false, reason: 'lost_claim' })
  t.equal(await store.get(c).then((r) => r === undefined ? '' : store.openSecrets(r).accessToken), 'CANARY-FAST')
})

t.test('recordFailure counts attempts and keeps the token due', async (t) => {
  const c = connection({ platform: 'failing' })
  let record = await store.saveConnection(c)
  for (let attempt = 1; attempt <= 2; attempt++) {
    const mine = await claimed(record, `run-${attempt}`)
    const result = await store.recordFailure(mine, `run-${attempt}`, 'provider_unavailable', nowMs + attempt * 60_000)
    if (!result.written) throw new Error('not written')
    record = result.record
    t.match(record, { attempts: attempt, lastError: 'provider_unavailable', nextAttemptAtMs: nowMs + attempt * 60_000, expiresAtMs: c.expiresAtMs, status: 'connected', claimId: undefined })
  }
  const due = await collect(store.queryDue('failing', nowMs + 3 * HOUR))
  t.ok(due.some((k) => k.userId === c.userId), 'still due')
  t.same(store.openSecrets(record), { accessToken: c.accessToken, refreshToken: c.refreshToken })
})

t.test('markNeedsReauth leaves the byExpiry index and gains a ttl in epoch seconds', async (t) => {
  const c = connection({ platform: 'reauth' })
  const record = await store.saveConnection(c)
  t.ok((await collect(store.queryDue('reauth', nowMs + 3 * HOUR))).some((k) => k.userId === c.userId), 'due before')
  const mine = await claimed(record)
  const result = await store.markNeedsReauth(mine, 'run-a', 'invalid_grant', 30)
  if (!result.written) throw new Error('not written')
  t.match(result.record, { status: 'needs_reauth', expiresAtMs: undefined, lastError: 'invalid_grant' })
  const item = await rawItem(c)
  t.notOk(item !== undefined && ATTR.dueAt in item, 'expiresAt removed')
  const ttl = Number(item?.[ATTR.ttl])
  const expected = Math.floor(nowMs / 1000) + 30 * 86_400
  t.ok(Math.abs(ttl - expected) <= 1, `ttl ${ttl} ≈ ${expected} (seconds, not milliseconds)`)
  t.ok(ttl < 1e11, 'ttl is in seconds')
  t.notOk((await collect(store.queryDue('reauth', nowMs + 365 * 24 * HOUR))).some((k) => k.userId === c.userId), 'no longer due')
})

t.test('releaseClaim gives back only my own claim; deleteConnection answers what was there', async (t) => {
  const c = connection()
  const record = await store.saveConnection(c)
  await store.claim(record, 'mine', 60_000)
  t.equal(await store.releaseClaim(c, 'not-mine'), false)
  t.equal(await store.releaseClaim(c, 'mine'), true)
  t.equal((await store.get(c))?.claimId, undefined)
  t.match(await store.deleteConnection(c), { userId: c.userId, version: 1 })
  t.equal(await store.deleteConnection(c), undefined)
})

async function collect (pages: AsyncGenerator<DueKey[]>): Promise<DueKey[]> {
  const all: DueKey[] = []
  for await (const page of pages) all.push(...page)
  return all
}

t.test('queryDue paginates the sparse index and never yields lock or state items', async (t) => {
  // Its own table: the raw lock and state items must be the only non-user keys in sight.
  const own = await createTestTable(t, 'due')
  const due = createTokenStore({ doc: own.dynamo.doc, table: own.name, cipher, now: () => nowMs })
  const expected: string[] = []
  for (let i = 0; i < 7; i++) {
    const c = connection({ platform: 'reddit', expiresAtMs: nowMs + i * 60_000 })
    await due.saveConnection(c)
    expected.push(c.userId)
  }
  await due.saveConnection(connection({ platform: 'reddit', expiresAtMs: nowMs + 5 * HOUR }))
  const put = async (item: Record<string, unknown>): Promise<void> => { await own.dynamo.doc.send(new PutCommand({ TableName: own.name, Item: item })) }
  await put({ userId: 'cron', platform: 'refresh-oauth', expiresAt: nowMs - 1 })
  await put({ userId: 'cron', platform: 'reddit', expiresAt: nowMs - 2 })
  await put({ userId: 'oauth-state#x', platform: 'reddit', expiresAt: nowMs + 1 })

  const pages: DueKey[][] = []
  for await (const page of due.queryDue('reddit', nowMs + HOUR, 2)) pages.push(page)
  t.ok(pages.length > 1, `several pages (${pages.length})`)
  t.ok(pages.every((p) => p.length <= 2), 'pages hold at most pageSize keys')
  const keys = pages.flat()
  t.same(keys.map((k) => k.userId).sort(), [...expected].sort(), 'every due user key, nothing else')
  t.ok(keys.every((k) => k.platform === 'reddit' && typeof k.dueAtMs === 'number'))
  t.same(await collect(due.queryDue('refresh-oauth', nowMs + HOUR, 2)), [], 'the lock item is never due')
})

t.test('getMany: consistent reads of many tokens, 100 keys a call; an absent item is undefined', async (t) => {
  // Saved 23 at a time: 230 writes at once opened 230 sockets to DynamoDB Local, and on a loaded
  // machine some missed the client's 1 s connect bound (a flake about the setup, not getMany).
  const saved: Array<Awaited<ReturnType<typeof store.saveConnection>>> = []
  for (let i = 0; i < 10; i++) saved.push(...await Promise.all(Array.from({ length: 23 }, async () => await store.saveConnection(connection({ platform: 'reddit' })))))
  const absent = { userId: 'nobody-here', platform: 'reddit' }
  let batchCalls = 0
  const counting = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  t.teardown(() => counting.client.destroy())
  counting.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'BatchGetItemCommand') batchCalls++
    return await next(args)
  }, { step: 'initialize', name: 'countBatchGets' })
  const reader = createTokenStore({ doc: counting.doc, table: table.name, cipher, now: () => nowMs })
  // A key twice: DynamoDB refuses duplicate keys in one call, getMany asks once.
  const read = await reader.getMany([...saved, absent, saved[0] ?? absent])
  t.equal(batchCalls, 3, '231 distinct keys: 3 calls')
  t.equal(read.size, 231)
  t.ok(read.has(tokenKeyId(absent)) && read.get(tokenKeyId(absent)) === undefined, 'no item: read, and undefined')
  for (const record of saved) t.same(read.get(tokenKeyId(record)), must(await store.get(record)))
  t.same(await reader.getMany([]), new Map(), 'no keys, no call')
  t.equal(batchCalls, 3)
})

t.test('getMany asks again for keys DynamoDB leaves unprocessed, and leaves out those it never processes', async (t) => {
  const proxy = await batchGetProxy(t, dynamoEndpoint())
  const viaProxy = createDynamoClients({ region: 'us-east-1', endpoint: proxy.endpoint })
  t.teardown(() => viaProxy.client.destroy())
  const reader = createTokenStore({ doc: viaProxy.doc, table: table.name, cipher, now: () => nowMs, batchGetRounds: 3 })
  const [a, b, c] = await Promise.all([1, 2, 3].map(async () => await store.saveConnection(connection())))
  if (a === undefined || b === undefined || c === undefined) throw new Error('not saved')

  // Throttled once: b comes back unprocessed, the second round reads it.
  let heldOnce = false
  proxy.hold = (userId) => userId === b.userId && !heldOnce && (heldOnce = true)
  const once = await reader.getMany([a, b, c])
  t.same(proxy.batchCalls, [3, 1], 'the unprocessed key alone in a second call')
  t.same([...once.values()].map((r) => r?.userId).sort(), [a.userId, b.userId, c.userId].sort())

  // Throttled for good: c is left out (not undefined: nobody knows whether it exists).
  proxy.batchCalls.length = 0
  proxy.hold = (userId) => userId === c.userId
  const never = await reader.getMany([a, b, c])
  t.same(proxy.batchCalls, [3, 1, 1], 'three rounds, then it gives up')
  t.equal(never.has(tokenKeyId(c)), false, 'unread, so the caller reads it alone')
  t.equal(never.get(tokenKeyId(a))?.userId, a.userId)

  // Everything held: no call reaches DynamoDB Local, nothing is reported read.
  proxy.hold = () => true
  t.equal((await reader.getMany([a, b])).size, 0)
})

t.test('DynamoDB unreachable: typed StoreUnavailableError, no crash', async (t) => {
  const dead = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })
  t.teardown(() => dead.client.destroy())
  const down = createTokenStore({ doc: dead.doc, table: table.name, cipher, settleAttempts: 1 })
  const isUnavailable = { name: 'StoreUnavailableError', code: 'store_unavailable' }
  await t.rejects(down.get({ userId: 'u', platform: 'tiktok' }), isUnavailable)
  await t.rejects(down.getMany([{ userId: 'u', platform: 'tiktok' }]), isUnavailable)
  await t.rejects(down.saveConnection(connection()), isUnavailable)
  await t.rejects(down.listByUser('u'), isUnavailable)
  await t.rejects(collect(down.queryDue('tiktok', nowMs)), isUnavailable)
  await t.rejects(down.deleteConnection({ userId: 'u', platform: 'tiktok' }), isUnavailable)
  const record = await store.saveConnection(connection())
  await t.rejects(down.claim(record, 'x', 1_000), isUnavailable)
  await t.rejects(down.completeRefresh(record, 'x', { accessToken: 'a', expiresAtMs: nowMs }), isUnavailable)
  // The message names the failure, never a request detail.
  const err = await down.get({ userId: 'CANARY-USER', platform: 'tiktok' }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof StoreUnavailableError, 'a StoreUnavailableError instance')
  t.notOk(String((err as Error).message).includes('CANARY'))
  t.notOk(JSON.stringify(err).includes('CANARY'))
})

t.test('moveDueAt moves the index entry, keeps the access expiry beside it, and yields to a live claim or a new version', async (t) => {
  // A platform of its own: the query below must see only this item.
  const saved = await store.saveConnection(connection({ platform: 'move-due-at', expiresAtMs: nowMs - 1_000 }))
  t.equal(await store.moveDueAt(saved, nowMs + 86_400_000), true)
  const moved = await store.get(saved)
  t.match(moved, { dueAtMs: nowMs + 86_400_000, expiresAtMs: nowMs - 1_000, version: saved.version })
  const due: unknown[] = []
  for await (const page of store.queryDue(saved.platform, nowMs)) due.push(...page)
  t.same(due, [], 'no longer found before its deadline')
  const claim = await store.claim(moved ?? saved, 'c1', 60_000)
  t.equal(claim.claimed, true)
  t.equal(await store.moveDueAt(moved ?? saved, nowMs + 1), false, 'a live claim: its writer sets the value')
  t.equal(await store.moveDueAt({ ...saved, version: saved.version + 5 }, nowMs + 1), false, 'a stale version')
  t.equal(await store.moveDueAt({ ...saved, expiresAtMs: undefined }, nowMs + 1), false, 'not in the index')
})
