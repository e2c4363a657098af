// The upstream URL as data: every path trick refused with its reason, plain paths kept byte for byte,
// and whatever the input, the result never leaves the configured base's origin or path.
import t from 'tap'
import { pathRefusal, PATH_REFUSALS, upstreamUrl } from '../../src/proxy/upstream-url.js'

const R = PATH_REFUSALS

t.test('plain API paths pass, as they were encoded', async (t) => {
  const cases: Array<[string, string, string, string]> = [
    ['https://oauth.reddit.com', '/api/v1/me', '', 'https://oauth.reddit.com/api/v1/me'],
    ['https://oauth.reddit.com/', '/r/some%20thing/about', 'raw_json=1', 'https://oauth.reddit.com/r/some%20thing/about?raw_json=1'],
    ['https://open.tiktokapis.com', '/v2/user/info/', 'fields=open_id,username', 'https://open.tiktokapis.com/v2/user/info/?fields=open_id,username'],
    ['https://graph.threads.net', '/v1.0/me/threads', 'media_type=TEXT&text=hi%20there', 'https://graph.threads.net/v1.0/me/threads?media_type=TEXT&text=hi%20there'],
    ['http://localhost:3000/sandbox/instagram', '/me', 'fields=user_id,username', 'http://localhost:3000/sandbox/instagram/me?fields=user_id,username'],
    ['https://graph.instagram.com', '/me/media', 'caption=%C3%A9t%C3%A9', 'https://graph.instagram.com/me/media?caption=%C3%A9t%C3%A9'],
    ['https://graph.instagram.com', '/...', '', 'https://graph.instagram.com/...'],
    ['https://graph.instagram.com', '/a.b/..c/.d', '', 'https://graph.instagram.com/a.b/..c/.d']
  ]
  for (const [base, path, query, expected] of cases) {
    const result = upstreamUrl(base, path, query)
    t.ok(result.ok, `${path}?${query}`)
    if (result.ok) t.equal(result.url.href, expected)
  }
})

t.test('every path that is not a plain path is refused, with its reason', async (t) => {
  const cases: Array<[string, string]> = [
    ['api/v1/me', R.notAbsolute],
    ['', R.notAbsolute],
    [`/${'a'.repeat(2_100)}`, R.tooLong],
    ['/a/../b', R.dotSegment],
    ['/..', R.dotSegment],
    ['/../../etc/passwd', R.dotSegment],
    ['/./me', R.dotSegment],
    ['/me/.', R.dotSegment],
    ['/%2e%2e/x', R.dotSegment],
    ['/%2E%2E/x', R.dotSegment],
    ['/.%2e/x', R.dotSegment],
    ['/%2e/x', R.dotSegment],
    ['//127.0.0.1:9/x', R.colon],
    ['//evil.example/x', R.emptySegment],
    ['/a//b', R.emptySegment],
    ['/a%2Fb', R.encodedSlash],
    ['/%2f%2fevil.example/x', R.encodedSlash],
    ['/a\\b', R.backslash],
    ['/%5c%5cevil.example/x', R.backslash],
    ['/http://evil.example/x', R.colon],
    ['/https:evil.example', R.colon],
    ['/javascript:alert(1)', R.colon],
    ['/@evil.example/x', R.at],
    ['/x%40evil.example', R.at],
    ['/%00', R.controlCharacter],
    ['/a%0d%0aHost:%20evil.example', R.controlCharacter],
    ['/a\r\nHost: evil', R.controlCharacter],
    ['/%09x', R.controlCharacter],
    ['/%7f', R.controlCharacter],
    ['/%C2%85', R.controlCharacter],
    ['/%E2%80%A8', R.controlCharacter],
    ['/%252e%252e/x', R.doubleEncoded],
    ['/%252F', R.doubleEncoded],
    ['/%zz', R.badEncoding],
    ['/%C3', R.badEncoding],
    ['/x#frag', R.fragment],
    ['/x%23frag', R.fragment]
  ]
  for (const [path, reason] of cases) {
    t.equal(pathRefusal(path), reason, JSON.stringify(path))
    const result = upstreamUrl('https://oauth.reddit.com', path, '')
    t.notOk(result.ok, `${JSON.stringify(path)} builds no URL`)
  }
})

t.test('a query that is not a query string is refused; one carrying CRLF escapes is data', async (t) => {
  t.notOk(upstreamUrl('https://oauth.reddit.com', '/me', 'a=1#frag').ok)
  t.notOk(upstreamUrl('https://oauth.reddit.com', '/me', 'a=%zz').ok)
  t.notOk(upstreamUrl('https://oauth.reddit.com', '/me', 'a=b c').ok)
  t.notOk(upstreamUrl('https://oauth.reddit.com', '/me', 'a=\r\nHost: evil').ok)
  t.notOk(upstreamUrl('https://oauth.reddit.com', '/me', 'a'.repeat(9_000)).ok)
  const injected = upstreamUrl('https://oauth.reddit.com', '/me', 'x=%0d%0aHost:%20evil.example%0d%0aX-Injected:%201&u=@evil.example&v=http://evil.example/')
  t.ok(injected.ok)
  if (injected.ok) {
    t.equal(injected.url.origin, 'https://oauth.reddit.com')
    t.equal(injected.url.searchParams.get('x'), '\r\nHost: evil.example\r\nX-Injected: 1', 'the escapes stay the provider\'s data')
    t.notOk(`${injected.url.pathname}${injected.url.search}`.includes('\r'), 'nothing raw that could end a header line')
  }
})

t.test('whatever the path, the URL stays on the base\'s origin and under its path', async (t) => {
  const bases = ['https://oauth.reddit.com', 'http://127.0.0.1:4000/sandbox/reddit', 'http://[::1]:4000/sandbox/']
  const nasty = ['/', '/x', '/..;/x', '/%2e%2e;/x', '/;@evil', '/x?y', '/x%3Fy', '/%3F', '/%20', '/~', '/x/', '/%C0%AE%C0%AE/x', '/%EF%BC%8E%EF%BC%8E/x', '/evil.example']
  for (const base of bases) {
    const origin = new URL(base).origin
    const basePath = new URL(base).pathname.replace(/\/+$/, '')
    for (const path of nasty) {
      const result = upstreamUrl(base, path, 'q=1')
      if (!result.ok) continue
      t.equal(result.url.origin, origin, `${base} + ${path}`)
      t.ok(result.url.pathname.startsWith(`${basePath}/`), `${base} + ${path} stays under ${basePath}/`)
    }
  }
})
