// The proxy never calls a host other than the configured API's. Every path trick of the contract, an
// absolute-form request target, CRLF in the path and header injection through the query, written raw
// on a socket to a listening service: a server of the test's own on 127.0.0.1 (the trap) sees nothing,
// and the fake provider sees nothing either, except for the one call whose query carries the escapes.
import t from 'tap'
import { RedditFake } from '../fakes/reddit.js'
import { auditLines, KEY, proxySetup, rawRequest, Trap } from '../helpers/proxy.js'

t.test('path tricks: 400 invalid_path, no upstream call, the trap sees nothing', async (t) => {
  const reddit = await RedditFake.start(t)
  const trap = await Trap.start(t)
  const { app, seed, logs } = await proxySetup(t, reddit)
  const token = await seed()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const base = `/api/internal/proxy/${token.userId}/reddit`
  const h = trap.host
  const tricks = [
    `/..${'/..'.repeat(4)}/x`, '/a/../b', '/./api/v1/me', '/%2e%2e/x', '/%2E%2E/%2E%2E/x', '/.%2e/x', '/%2e/x',
    `//${h}/x`, '/a//b', `/%2F%2F${h}/x`, '/a%2fb', `/\\\\${h}/x`, `/%5C%5C${h}/x`,
    `/http://${h}/x`, `/http:%2F%2F${h}/x`, `/https:${h}`, '/javascript:alert(1)',
    `/@${h}/x`, `/x%40${h}`, `/:${trap.port}/x`,
    '/%00x', `/a%0d%0aHost:%20${h}`, '/%09x', '/%7F',
    '/%252e%252e/x', `/%252F%252F${h}`, '/%zz', '/x%23frag'
  ]
  for (const trick of tricks) {
    for (const method of ['GET', 'POST']) {
      const res = await rawRequest(origin, `${method} ${base}${trick} HTTP/1.1`, { authorization: `Bearer ${KEY}` }, method === 'POST' ? '{"a":1}' : '')
      t.equal(res.status, 400, `${method} ${trick}`)
      // A malformed escape is refused by the router before any route: still a 400, still nothing sent.
      if (trick !== '/%zz') t.ok(res.text.endsWith('{"ok":false,"error":"invalid_path"}'), `${method} ${trick}: invalid_path`)
    }
  }
  t.same(trap.seen, [], 'the trap saw nothing')
  t.equal(reddit.requests.length, 0, 'the provider saw nothing')
  const refusedLines = auditLines(logs).filter((l) => l.proxy.outcome === 'invalid_path')
  t.equal(refusedLines.length, 2 * (tricks.length - 1), 'each refusal that reached the route has its audit line')
  t.ok(refusedLines.every((l) => typeof l.proxy.pathRefusal === 'string'), 'with the reason in words')
})

t.test('an absolute-form request target naming another host: 400 invalid_path, no upstream call', async (t) => {
  const reddit = await RedditFake.start(t)
  const trap = await Trap.start(t)
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  for (const target of [
    `${trap.origin}/api/internal/proxy/${token.userId}/reddit/api/v1/me`,
    `http://evil.example/api/internal/proxy/${token.userId}/reddit/api/v1/me`,
    `${trap.origin}/api/v1/me`
  ]) {
    const res = await rawRequest(origin, `GET ${target} HTTP/1.1`, { authorization: `Bearer ${KEY}` })
    t.ok(res.status === 400 || res.status === 404, `${target}: ${res.status}`)
    t.notOk(res.text.includes('"id"'), 'no provider answer')
  }
  t.same(trap.seen, [])
  t.equal(reddit.requests.length, 0)
})

t.test('CRLF in the request target: it only ends the request line; what follows are the caller\'s headers, which never go upstream', async (t) => {
  const reddit = await RedditFake.start(t)
  const trap = await Trap.start(t)
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  // The parser reads `GET <path>` as the whole request line: `Host:` and `X-Injected:` become headers.
  const res = await rawRequest(origin, `GET /api/internal/proxy/${token.userId}/reddit/api/v1/me\r\nHost: ${trap.host}\r\nX-Injected: 1 HTTP/1.1`, { authorization: `Bearer ${KEY}` })
  t.equal(res.status, 200, 'the call of the path before the CRLF')
  const [seen] = reddit.requestsTo('userinfo')
  t.equal(seen?.headers.host, new URL(reddit.url).host, 'the configured API\'s host, not the caller\'s')
  t.equal(seen?.headers['x-injected'], undefined, 'no header of the caller\'s')
  // A bare CR inside the target is no request at all.
  const bare = await rawRequest(origin, `GET /api/internal/proxy/${token.userId}/reddit/a\rb HTTP/1.1`, { authorization: `Bearer ${KEY}` })
  t.equal(bare.status, 400)
  t.same(trap.seen, [])
  t.equal(reddit.requests.length, 1, 'the provider saw the one call only')
})

t.test('header injection through the query: the escapes reach the provider as query data, never as headers', async (t) => {
  const reddit = await RedditFake.start(t)
  const trap = await Trap.start(t)
  const { app, seed } = await proxySetup(t, reddit)
  const token = await seed()
  const res = await app.inject({
    method: 'GET',
    url: `/api/internal/proxy/${token.userId}/reddit/api/v1/me?x=%0d%0aHost:%20${trap.host}%0d%0aX-Injected:%201&y=%0aAuthorization:%20Bearer%20stolen`,
    headers: { authorization: `Bearer ${KEY}` }
  })
  t.equal(res.statusCode, 200)
  const [seen] = reddit.requestsTo('userinfo')
  t.equal(seen?.headers['x-injected'], undefined)
  t.equal(seen?.headers.host, new URL(reddit.url).host)
  t.equal(seen?.headers.authorization, `Bearer ${token.accessToken}`)
  t.equal(seen?.query.x, `\r\nHost: ${trap.host}\r\nX-Injected: 1`, 'the query value, as data')
  t.same(trap.seen, [])
})
