// REFRESH_PARTS=2 across two real server processes (test/helpers/server-process.ts): the instance that
// holds a part is SIGKILLed half-way; its lease runs out and the other instance takes the part again,
// so every token of the pass is refreshed and nothing stays claimed.
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createCipher } from '../../src/store/crypto.js'
import { createPartLeases } from '../../src/store/part-leases.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { createTestTable, testEnv } from '../helper.js'
import { seedTokens, waitFor } from '../helpers/refresh.js'
import { startServer, waitReady } from '../helpers/server-process.js'

const SECRET = 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc'

t.test('an instance SIGKILLed holding a part: the part is taken again when its lease runs out', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  reddit.latencyMs = 250
  // Lease = claim = 3 × PROVIDER_TIMEOUT_MS = 3 s; one refresh at a time per part, so a part lasts seconds.
  const env = testEnv({
    TOKENS_TABLE: table.name,
    CRON_SECRET: SECRET,
    ...reddit.env(),
    REFRESH_PARTS: '2',
    PROVIDER_TIMEOUT_MS: '1000',
    REDDIT_REFRESH_CONCURRENCY: '1',
    REDDIT_REQUESTS_PER_MINUTE: '100000',
    REFRESH_RUN_BUDGET_MS: '60000',
    CRON_RESPONSE_BUDGET_MS: '300',
    LOG_LEVEL: 'warn'
  })
  const config = loadConfig(env)
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: Date.now })
  const seeded = await seedTokens(store, reddit, 24, { expiresInMs: 10 * 60_000, now: Date.now })
  const leases = createPartLeases({ doc: table.dynamo.doc, table: table.name, leaseMs: 3_000, now: Date.now })

  const doomed = await startServer(t, env as Record<string, string>)
  const survivor = await startServer(t, env as Record<string, string>)
  await Promise.all([waitReady(doomed, 30_000), waitReady(survivor, 30_000)])
  const res = await fetch(`http://127.0.0.1:${doomed.port}/api/cron/refresh-oauth`, { headers: { 'x-cron-secret': SECRET } })
  t.equal(res.status, 200)
  // The doomed instance opened the pass and took a part; it dies once it has done a little of it.
  await waitFor(async () => (await leases.list(true)).some((p) => p.state === 'taken'), 20_000)
  await waitFor(() => reddit.requestsTo('refresh').length >= 3, 20_000)
  const heldBefore = (await leases.list(true)).filter((p) => p.state === 'taken')
  doomed.child.kill('SIGKILL')
  await doomed.exited
  t.ok(heldBefore.length >= 1, 'the killed instance held a part when it died')

  await waitFor(async () => (await leases.list(true)).every((p) => p.state === 'done'), 60_000)
  const parts = await leases.list(true)
  t.equal(parts.length, 2)
  t.ok(parts.some((p) => p.takenCount >= 2), `a part was taken again: ${parts.map((p) => p.takenCount).join(', ')}`)
  const records = await Promise.all(seeded.map(async (s) => await store.get({ userId: s.userId, platform: 'reddit' }, true)))
  const refreshed = records.filter((r) => r !== undefined && r.lastRefreshedAtMs !== undefined)
  t.equal(refreshed.length, 24, 'every token of the pass was refreshed')
  const stuck = records.filter((r) => r?.claimUntilMs !== undefined && r.claimUntilMs > Date.now())
  t.equal(stuck.length, 0, 'nothing stays claimed')
  t.equal(survivor.child.exitCode, null, 'the survivor is still serving')
})
