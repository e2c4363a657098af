// Two service instances on one table: a 401 for a token another instance has just refreshed takes the
// token that instance wrote (no second refresh); a burst of refusals on both instances makes one
// provider refresh in all, the refresh token presented once.
import t from 'tap'
import type { Reply } from '../fakes/fake-server.js'
import { RedditFake } from '../fakes/reddit.js'
import { auditLines, auth, MINUTE, proxySetup } from '../helpers/proxy.js'
import { generateEncryptionKey } from '../../src/store/crypto.js'
import { createTestTable } from '../helper.js'

const url = (userId: string, path: string): string => `/api/internal/proxy/${userId}/reddit${path}`

t.test('a 401 for a token another instance has just refreshed: the new token, no second refresh', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t, { rotate: true })
  let open!: () => void
  const gate = new Promise<void>((resolve) => { open = resolve })
  // An API call that answers only once the test lets it, checking the bearer token then (as the
  // provider does when the answer is computed).
  reddit.server.addRoute({
    method: 'GET',
    path: '/api/v1/me/karma',
    endpoint: () => 'karma',
    handle: async ({ request }): Promise<Reply> => {
      await gate
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
      return reddit.ledger.findLive(bearer) === undefined ? { status: 401, json: { message: 'Unauthorized', error: 401 } } : { status: 200, json: { kind: 'KarmaList', data: [] } }
    }
  })
  const env = { TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1') }
  const a = await proxySetup(t, reddit, { table, env })
  const b = await proxySetup(t, reddit, { table, env })
  const token = await a.seed(60 * MINUTE)

  const pending = b.app.inject({ method: 'GET', url: url(token.userId, '/api/v1/me/karma'), headers: auth() })
  for (let i = 0; i < 200 && reddit.requestsTo('karma').length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  t.equal(reddit.requestsTo('karma').length, 1, 'instance B called with the old token')
  // Instance A refreshes (a platform service's forced read), and the provider drops the old token.
  const forced = await a.app.inject({ method: 'GET', url: `/api/internal/tokens/${token.userId}/reddit?force=true`, headers: auth() })
  t.equal(forced.statusCode, 200)
  const fresh = forced.json().accessToken as string
  reddit.ledger.invalidate(token.accessToken)
  open()
  const res = await pending
  t.equal(res.statusCode, 200, 'B retried with the token A wrote')
  t.equal(reddit.requestsTo('refresh').length, 1, 'one refresh in all: A\'s')
  t.equal(reddit.requestsTo('karma')[1]?.headers.authorization, `Bearer ${fresh}`)
  t.match(auditLines(b.logs)[0], { proxy: { upstreamStatus: 200, retried: true, refreshed: false } })
})

t.test('refusals on both instances at once: one provider refresh, the refresh token presented once', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t, { rotate: true })
  // A generous timeout: this machine's load must not turn a slow answer into a 504.
  const env = { TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'), PROVIDER_TIMEOUT_MS: '8000' }
  const a = await proxySetup(t, reddit, { table, env })
  const b = await proxySetup(t, reddit, { table, env })
  const token = await a.seed(60 * MINUTE)
  // The provider no longer takes the stored access token; its grant is alive.
  reddit.ledger.invalidate(token.accessToken)
  reddit.latencyMs = 50
  const calls = [a, b].flatMap((instance) => Array.from({ length: 6 }, async () => await instance.app.inject({ method: 'GET', url: url(token.userId, '/api/v1/me'), headers: auth() })))
  const answers = await Promise.all(calls)
  t.equal(reddit.requestsTo('refresh').length, 1, 'one refresh for 12 refused calls on two instances')
  t.equal(reddit.timesPresented(token.refreshToken!), 1)
  t.same(reddit.ledger.presentedMoreThanOnce(), [])
  const statuses = answers.map((r) => r.statusCode)
  t.same(statuses, Array(12).fill(200), 'callers in the refreshing process share its refresh; the other instance waits for its write')
  const stored = await a.store.get({ userId: token.userId, platform: 'reddit' }, true)
  t.equal(stored?.status, 'connected')
})
