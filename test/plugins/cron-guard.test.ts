import t from 'tap'
import { createSecretMatcher } from '../../src/plugins/cron-guard.js'
import { buildApp, createTestTable, LogCapture } from '../helper.js'

const SECRET = 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc'
const UNAUTHORIZED = { ok: false, error: 'unauthorized' }

t.test('createSecretMatcher compares whole secrets, any of a rotation list', async (t) => {
  const matches = createSecretMatcher(['old-secret-aaaaaaaaaaaa', 'new-secret-bbbbbbbbbbbb'])
  t.ok(matches('old-secret-aaaaaaaaaaaa'))
  t.ok(matches('new-secret-bbbbbbbbbbbb'))
  t.notOk(matches('new-secret-bbbbbbbbbbbX'), 'same length, one character off')
  t.notOk(matches('new-secret'), 'a prefix')
  t.notOk(matches(''))
  t.notOk(matches('x'.repeat(100_000)))
  t.notOk(createSecretMatcher([])('anything'))
})

t.test('the cron guard', async (t) => {
  const table = await createTestTable(t)
  const logs = new LogCapture()
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name, CRON_SECRET: `${SECRET}, second-secret-9876543210` }, logs })
  // `/last` reads the lock only: every refusal is checked there, without starting a run.
  const call = (headers: Record<string, string>, url = '/api/cron/refresh-oauth/last') => app.inject({ method: 'GET', url, headers })

  const refusals: Array<[string, Record<string, string>, string?]> = [
    ['missing secret', {}],
    ['empty x-cron-secret', { 'x-cron-secret': '' }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['wrong secret of the same length', { 'x-cron-secret': SECRET.slice(0, -1) + 'X' }],
    ['a 100 KB secret', { 'x-cron-secret': 'a'.repeat(100 * 1024) }],
    ['x-vercel-cron header alone', { 'x-vercel-cron': '1' }],
    ['vercel-cron/1.0 user agent alone', { 'user-agent': 'vercel-cron/1.0', 'x-vercel-cron': '1' }],
    ['secret in the query string', {}, `/api/cron/refresh-oauth/last?secret=${SECRET}&x-cron-secret=${SECRET}&CRON_SECRET=${SECRET}`],
    ['secret in the query string of the run route', {}, `/api/cron/refresh-oauth?x-cron-secret=${SECRET}`],
    ['Basic instead of Bearer', { authorization: `Basic ${SECRET}` }],
    ['bearer with the secret as a prefix', { authorization: `Bearer ${SECRET}extra` }],
    ['the whole comma-separated list as one secret', { 'x-cron-secret': `${SECRET},second-secret-9876543210` }]
  ]
  for (const [name, headers, url] of refusals) {
    const res = await call(headers, url)
    t.equal(res.statusCode, 401, name)
    t.same(res.json(), UNAUTHORIZED, `${name}: the same body`)
  }

  const accepted: Array<[string, Record<string, string>]> = [
    ['x-cron-secret', { 'x-cron-secret': SECRET }],
    ['Authorization: Bearer (Vercel Cron)', { authorization: `Bearer ${SECRET}`, 'user-agent': 'vercel-cron/1.0' }],
    ['lower-case bearer scheme', { authorization: `bearer ${SECRET}` }],
    ['the second secret of the rotation list', { 'x-cron-secret': 'second-secret-9876543210' }],
    ['a wrong header next to a right one', { 'x-cron-secret': 'wrong', authorization: `Bearer ${SECRET}` }]
  ]
  for (const [name, headers] of accepted) {
    const res = await call(headers)
    t.equal(res.statusCode, 200, name)
  }
  t.notMatch(logs.text, SECRET, 'the secret never reaches a log line')
  t.notMatch(logs.text, 'second-secret-9876543210')
})

t.test('no CRON_SECRET: 503 cron_disabled on every call, even with a header', async (t) => {
  const app = await buildApp(t, { env: { CRON_SECRET: undefined } })
  for (const headers of [{}, { 'x-cron-secret': SECRET }, { authorization: 'Bearer ' }]) {
    for (const url of ['/api/cron/refresh-oauth', '/api/cron/refresh-oauth/last']) {
      const res = await app.inject({ method: 'GET', url, headers })
      t.equal(res.statusCode, 503)
      t.same(res.json(), { ok: false, error: 'cron_disabled' })
    }
  }
})

t.test('the guard lives in the cron scope only', async (t) => {
  const app = await buildApp(t, { env: { CRON_SECRET: SECRET } })
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200, 'health is not guarded')
})

t.test('over real HTTP a 100 KB secret is a 431 with the contract body, a 20 KB one the 401 of any wrong secret', async (t) => {
  const table = await createTestTable(t)
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  // The header limit is 32 KiB (server-options.ts): the parser refuses the 100 KB header before any
  // hook, and client-error.ts answers in the contract's shape (it was a bare 431, then a 128 KiB limit).
  const res = await fetch(`http://127.0.0.1:${port}/api/cron/refresh-oauth/last`, { headers: { 'x-cron-secret': 'a'.repeat(100 * 1024) } })
  t.equal(res.status, 431)
  t.same(await res.json(), { ok: false, error: 'header_too_large' })
  const under = await fetch(`http://127.0.0.1:${port}/api/cron/refresh-oauth/last`, { headers: { 'x-cron-secret': 'a'.repeat(20 * 1024) } })
  t.equal(under.status, 401)
  t.same(await under.json(), { ok: false, error: 'unauthorized' })
})
