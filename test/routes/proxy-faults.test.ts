// The proxy's limits and a provider misbehaving: bodies over the caps both ways (declared and
// streamed), a provider that hangs, one that cannot be reached, a redirect to another host, Set-Cookie
// and the headers that do pass, a 5xx (no refresh). Real HTTP on both sides where streaming matters.
import { request as httpRequest } from 'node:http'
import t from 'tap'
import type { Reply, Route } from '../fakes/fake-server.js'
import { RedditFake } from '../fakes/reddit.js'
import { auditLines, auth, KEY, proxySetup, Trap } from '../helpers/proxy.js'

const MiB = 1024 * 1024
const url = (userId: string, path: string): string => `/api/internal/proxy/${userId}/reddit${path}`

function route (path: string, handle: () => Reply, method = 'GET'): Route {
  return { method, path, endpoint: () => path, handle }
}

async function listening (app: Awaited<ReturnType<typeof proxySetup>>['app']): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/** A request streamed in chunks (no Content-Length) over a real socket; resolves with what came back. */
async function chunked (origin: string, path: string, totalBytes: number): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    const piece = Buffer.alloc(64 * 1024, 'b')
    let sent = 0
    const pump = (): void => {
      while (sent < totalBytes) {
        sent += piece.length
        if (!req.write(piece)) { req.once('drain', pump); return }
      }
      req.end()
    }
    pump()
  })
}

/** GET over a real socket; `cut` when the connection closed before the end of the body. */
async function getRaw (origin: string, path: string): Promise<{ status: number, bytes: number, cut: boolean, headers: Record<string, unknown> }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { headers: { authorization: `Bearer ${KEY}` } }, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => { bytes += c.length })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, bytes, cut: false, headers: res.headers }) })
      res.on('error', () => { resolve({ status: res.statusCode ?? 0, bytes, cut: true, headers: res.headers }) })
      res.on('aborted', () => { resolve({ status: res.statusCode ?? 0, bytes, cut: true, headers: res.headers }) })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('a 2 MiB body: 413 before any upstream call when declared, and 413 when it streams past the cap', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, seed, logs } = await proxySetup(t, reddit)
  const token = await seed()
  const declared = await app.inject({ method: 'POST', url: url(token.userId, '/api/submit'), headers: { ...auth(), 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(2 * MiB, 'a') })
  t.equal(declared.statusCode, 413)
  t.same(declared.json(), { ok: false, error: 'body_too_large' })
  t.equal(declared.headers['cache-control'], 'no-store')
  t.equal(reddit.requests.length, 0, 'a declared length over the cap never goes upstream')

  const origin = await listening(app)
  const streamed = await chunked(origin, url(token.userId, '/api/submit'), 2 * MiB)
  t.equal(streamed.status, 413)
  t.same(JSON.parse(streamed.body), { ok: false, error: 'body_too_large' })
  t.equal(reddit.published.length, 0, 'nothing was published from a cut body')
  t.same(auditLines(logs).map((l) => l.proxy.outcome), ['body_too_large', 'body_too_large'])

  // Exactly at the cap passes (1 MiB, declared).
  const atCap = await app.inject({ method: 'POST', url: url(token.userId, '/api/submit?sr=x&title=y'), headers: { ...auth(), 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(MiB, 'a') })
  t.equal(atCap.statusCode, 200)
  t.equal(reddit.requestsTo('publish').at(-1)?.body.length, MiB, 'the whole megabyte arrived')
})

t.test('a 6 MiB answer: 502 upstream_too_large when its length is declared; cut short when it streams', async (t) => {
  const reddit = await RedditFake.start(t)
  const big = 'x'.repeat(6 * MiB)
  reddit.server.addRoute(route('/big-declared', () => ({ status: 200, headers: { 'content-type': 'text/plain', 'content-length': String(big.length) }, text: big })))
  reddit.server.addRoute(route('/big-chunked', () => ({ status: 200, headers: { 'content-type': 'text/plain' }, text: big })))
  reddit.server.addRoute(route('/just-under', () => ({ status: 200, headers: { 'content-type': 'text/plain' }, text: 'y'.repeat(5 * MiB) })))
  const { app, seed, logs } = await proxySetup(t, reddit)
  const token = await seed()
  const declared = await app.inject({ method: 'GET', url: url(token.userId, '/big-declared'), headers: auth() })
  t.equal(declared.statusCode, 502)
  t.same(declared.json(), { ok: false, error: 'upstream_too_large' })

  const origin = await listening(app)
  const streamed = await getRaw(origin, url(token.userId, '/big-chunked'))
  t.equal(streamed.status, 200, 'the provider\'s status went out before the body passed the cap')
  t.ok(streamed.cut, 'the connection closed before an end of body: the caller cannot take it for a whole answer')
  t.ok(streamed.bytes <= 5 * MiB, `at most the cap went through (${streamed.bytes} bytes)`)
  const underCap = await getRaw(origin, url(token.userId, '/just-under'))
  t.equal(underCap.status, 200)
  t.equal(underCap.bytes, 5 * MiB, 'exactly the cap passes whole')
  t.notOk(underCap.cut)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(auditLines(logs).map((l) => l.proxy.outcome), ['upstream_too_large', 'upstream_too_large', 'answered'])
})

t.test('a provider that hangs: 504 upstream_timeout after PROVIDER_TIMEOUT_MS; an unreachable one: 502 upstream_unavailable', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  reddit.failNext('userinfo', { kind: 'hang' })
  const startedAt = Date.now()
  const hung = await app.inject({ method: 'GET', url: url(token.userId, '/api/v1/me'), headers: auth() })
  t.equal(hung.statusCode, 504)
  t.same(hung.json(), { ok: false, error: 'upstream_timeout' })
  t.ok(Date.now() - startedAt >= 900 && Date.now() - startedAt < 3_000, 'after the 1 s timeout')

  const closed = await RedditFake.start(t)
  await closed.close()
  const { app: app2, seed: seed2 } = await proxySetup(t, reddit, { env: { REDDIT_API_URL: closed.url } })
  const other = await seed2()
  const unreachable = await app2.inject({ method: 'GET', url: url(other.userId, '/api/v1/me'), headers: auth() })
  t.equal(unreachable.statusCode, 502)
  t.same(unreachable.json(), { ok: false, error: 'upstream_unavailable' })
  t.equal(unreachable.headers['cache-control'], 'no-store')
})

t.test('a redirect to another host is not followed: its status and location are answered as they are', async (t) => {
  const reddit = await RedditFake.start(t)
  const trap = await Trap.start(t)
  reddit.server.addRoute(route('/moved', () => ({ status: 302, headers: { location: `${trap.origin}/steal?token=x`, 'set-cookie': 'a=b' } })))
  reddit.server.addRoute(route('/moved-permanently', () => ({ status: 308, headers: { location: `${trap.origin}/steal` } }), 'POST'))
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  const res = await app.inject({ method: 'GET', url: url(token.userId, '/moved'), headers: auth() })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, `${trap.origin}/steal?token=x`)
  t.equal(res.headers['set-cookie'], undefined)
  const post = await app.inject({ method: 'POST', url: url(token.userId, '/moved-permanently'), headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"a":1}' })
  t.equal(post.statusCode, 308)
  t.equal(post.headers.location, `${trap.origin}/steal`)
  t.same(trap.seen, [], 'nobody followed it')
})

t.test('answer headers: Set-Cookie never, rate limits and retry-after always, nothing else of the provider\'s', async (t) => {
  const reddit = await RedditFake.start(t)
  reddit.server.addRoute(route('/headers', () => ({
    status: 200,
    headers: {
      'content-type': 'application/json',
      'set-cookie': 'session=CANARY-SET-COOKIE; HttpOnly',
      'x-ratelimit-used': '3',
      'x-ratelimit-remaining': '97.0',
      'x-ratelimit-reset': '42',
      'x-app-usage': '{"call_count":5}',
      'x-business-use-case-usage': '{"1":[{"type":"INSTAGRAM","call_count":1}]}',
      'retry-after': '7',
      'x-powered-by': 'fake',
      'access-control-allow-origin': '*',
      'strict-transport-security': 'max-age=1',
      location: 'https://not-a-redirect.example'
    },
    json: { ok: true }
  })))
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  const res = await app.inject({ method: 'GET', url: url(token.userId, '/headers'), headers: auth() })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['set-cookie'], undefined)
  t.match(res.headers, { 'x-ratelimit-used': '3', 'x-ratelimit-remaining': '97.0', 'x-ratelimit-reset': '42', 'x-app-usage': '{"call_count":5}', 'retry-after': '7' })
  t.equal(res.headers['x-business-use-case-usage'], '{"1":[{"type":"INSTAGRAM","call_count":1}]}')
  t.equal(res.headers['x-powered-by'], undefined)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers.location, undefined, 'a location outside a redirect is not answered')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notOk(JSON.stringify(res.headers).includes('CANARY-SET-COOKIE'))
})

t.test('a provider 5xx and 429 pass through as they are; neither is a reason to refresh', async (t) => {
  const reddit = await RedditFake.start(t)
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  reddit.failNext('userinfo', { kind: 'status', status: 503 })
  const res = await app.inject({ method: 'GET', url: url(token.userId, '/api/v1/me'), headers: auth() })
  t.equal(res.statusCode, 503)
  t.equal(res.body, 'Internal Server Error', 'the provider\'s body')
  reddit.failNext('userinfo', { kind: 'rate_limited', retryAfter: '30' })
  const limited = await app.inject({ method: 'GET', url: url(token.userId, '/api/v1/me'), headers: auth() })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '30')
  t.equal(reddit.requestsTo('refresh').length, 0, 'no refresh')
  t.equal(reddit.requestsTo('userinfo').length, 2, 'no retry')
})
