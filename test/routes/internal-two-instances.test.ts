// Two service processes on one table, each hammered with internal reads of the same near-expiry token
// while cron calls hit both: one provider refresh, every caller the same new token, and the refresh
// token presented once (the fake's ledger counts every presentation).
import t from 'tap'
import { createCipher } from '../../src/store/crypto.js'
import { loadConfig } from '../../src/config.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { RedditFake } from '../fakes/reddit.js'
import { createTestTable, testEnv } from '../helper.js'
import { seedTokens } from '../helpers/refresh.js'
import { startServer, waitReady } from '../helpers/server-process.js'

const KEY = 'internal-key-0123456789abcdef'
const CRON = 'cron-secret-0123456789abcdef'

t.test('two instances, internal reads and cron runs racing for one token: one refresh', async (t) => {
  const table = await createTestTable(t)
  // Rotation on: a refresh token presented twice would be the bug this guards against.
  const reddit = await RedditFake.start(t, { rotate: true })
  reddit.latencyMs = 400
  const env = testEnv({ TOKENS_TABLE: table.name, INTERNAL_API_KEY: KEY, CRON_SECRET: CRON, LOG_LEVEL: 'warn', ...reddit.env() })
  const config = loadConfig(env)
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys) })
  const [token] = await seedTokens(store, reddit, 1, { expiresInMs: 2 * 60_000, now: Date.now })

  const servers = await Promise.all([startServer(t, env), startServer(t, env)])
  await Promise.all(servers.map((s) => waitReady(s, 30_000)))
  const base = servers.map((s) => `http://127.0.0.1:${s.port}`)

  const read = async (origin: string): Promise<{ status: number, accessToken?: string }> => {
    const res = await fetch(`${origin}/api/internal/tokens/${token!.userId}/reddit`, { headers: { authorization: `Bearer ${KEY}` } })
    const body = await res.json() as { accessToken?: string }
    return { status: res.status, ...(body.accessToken === undefined ? {} : { accessToken: body.accessToken }) }
  }
  const cron = async (origin: string): Promise<number> => {
    const res = await fetch(`${origin}/api/cron/refresh-oauth`, { headers: { 'x-cron-secret': CRON } })
    await res.arrayBuffer()
    return res.status
  }

  const reads: Array<Promise<{ status: number, accessToken?: string }>> = []
  const crons: Array<Promise<number>> = []
  // Three waves 150 ms apart: before any claim, while the claim is held, around the write.
  for (let wave = 0; wave < 3; wave++) {
    for (const origin of base) {
      crons.push(cron(origin))
      for (let i = 0; i < 10; i++) reads.push(read(origin))
    }
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  const answers = await Promise.all(reads)
  t.same(await Promise.all(crons), Array(crons.length).fill(200), 'every cron call answered')

  t.same(answers.map((a) => a.status), Array(answers.length).fill(200), `${answers.length} reads answered 200`)
  const handed = new Set(answers.map((a) => a.accessToken))
  t.equal(handed.size, 1, 'every caller got the same token')
  t.not([...handed][0], token!.accessToken, 'the new token')
  t.equal(reddit.requestsTo('refresh').length, 1, 'one provider refresh in all')
  t.equal(reddit.timesPresented(token!.refreshToken!), 1, 'the refresh token presented once')
  t.same(reddit.ledger.presentedMoreThanOnce(), [])
  const stored = await store.get({ userId: token!.userId, platform: 'reddit' })
  t.equal(store.openSecrets(stored!).accessToken, [...handed][0], 'what everyone got is what is stored')
  for (const s of servers) s.child.kill('SIGTERM')
  await Promise.all(servers.map((s) => s.exited))
})
