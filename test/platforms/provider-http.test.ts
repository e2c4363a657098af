// provider-http and the shared classification as data: Retry-After forms, the deadline covering a body
// that stalls, oversized answers, User-Agent, OAuth error codes, and token answers' lifetimes.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { oauthErrorFailure, statusFailure, thrownFailure } from '../../src/platforms/oauth-errors.js'
import { REDDIT_WIRE } from '../../src/platforms/reddit.js'
import { createProviderHttp, DEFAULT_USER_AGENT, parseRetryAfterMs, providerRequest, ProviderTransportError, type ProviderAnswer } from '../../src/platforms/provider-http.js'
import { grantFromBody, interpretTokenAnswer, positiveSeconds, splitScopes } from '../../src/platforms/token-response.js'

const NOW = Date.UTC(2026, 0, 1)
const answer = (status: number, json: unknown, headers: Record<string, string> = {}): ProviderAnswer =>
  ({ status, headers: new Headers(headers), text: JSON.stringify(json), json })

t.test('Retry-After: delta-seconds, HTTP-date, past date, garbage', async (t) => {
  t.equal(parseRetryAfterMs('120', NOW), 120_000)
  t.equal(parseRetryAfterMs(' 5 ', NOW), 5_000)
  t.equal(parseRetryAfterMs(new Date(NOW + 30_000).toUTCString(), NOW), 30_000)
  t.equal(parseRetryAfterMs(new Date(NOW - 30_000).toUTCString(), NOW), 0, 'a past date means now')
  t.equal(parseRetryAfterMs('soon-ish', NOW), undefined)
  t.equal(parseRetryAfterMs(null, NOW), undefined)
})

t.test('status failures: 429, 5xx with Retry-After, Reddit\'s X-Ratelimit-Reset, other statuses', async (t) => {
  t.same(statusFailure(answer(429, null, { 'retry-after': '9' }), NOW), { kind: 'transient', code: 'rate_limited', retryAfterMs: 9_000 })
  t.same(statusFailure(answer(429, null, { 'x-ratelimit-reset': '42' }), NOW, REDDIT_WIRE.rateLimitResetHeader), { kind: 'transient', code: 'rate_limited', retryAfterMs: 42_000 })
  t.same(statusFailure(answer(503, null, { 'retry-after': '3' }), NOW), { kind: 'transient', code: 'http_5xx', retryAfterMs: 3_000 })
  t.same(statusFailure(answer(403, null), NOW), { kind: 'transient', code: 'http_4xx' })
  t.same(statusFailure(answer(302, null), NOW), { kind: 'transient', code: 'http_3xx' })
})

t.test('OAuth error codes: only the grant-killing ones are permanent', async (t) => {
  for (const code of ['invalid_grant', 'invalid_client', 'unauthorized_client']) t.same(oauthErrorFailure(code), { kind: 'permanent', code })
  for (const code of ['server_error', 'temporarily_unavailable']) t.same(oauthErrorFailure(code), { kind: 'transient', code })
  t.same(oauthErrorFailure('access_denied'), { kind: 'transient', code: 'oauth_access_denied' })
  t.same(oauthErrorFailure('Bad <script> value'), { kind: 'transient', code: 'provider_error' }, 'a provider string that is not a code never becomes one')
  t.same(thrownFailure(new Error('boom')), { kind: 'transient', code: 'malformed_response' })
  t.same(thrownFailure(new Error('wrapped', { cause: new ProviderTransportError('timeout', null) })), { kind: 'transient', code: 'timeout' })
})

t.test('token answers: lifetimes from the answer, the body before the status', async (t) => {
  t.equal(positiveSeconds('3600'), 3600)
  t.equal(positiveSeconds(''), undefined)
  t.equal(positiveSeconds(Number.POSITIVE_INFINITY), undefined)
  t.same(splitScopes('a b,c'), ['a', 'b', 'c'])
  t.same(splitScopes(['x', 3, '']), ['x'])
  t.same(grantFromBody({ access_token: 'a', refresh_token: '', expires_in: 10 }, NOW), { grant: { accessToken: 'a', refreshToken: undefined, expiresAtMs: NOW + 10_000, refreshExpiresAtMs: undefined, scopes: undefined } }, 'an empty refresh token is no refresh token')
  t.equal(grantFromBody({ access_token: '' }, NOW), undefined)
  t.same(interpretTokenAnswer(answer(500, { error: 'invalid_grant' }), NOW), { kind: 'permanent', code: 'invalid_grant' })
  t.same(interpretTokenAnswer(answer(503, { error: 'weird' }), NOW), { kind: 'transient', code: 'http_5xx' })
  t.same(interpretTokenAnswer(answer(400, { error: 'server_error' }, { 'retry-after': '2' }), NOW), { kind: 'transient', code: 'server_error', retryAfterMs: 2_000 })
  t.same(interpretTokenAnswer(answer(200, [1, 2]), NOW), { kind: 'transient', code: 'malformed_response' })
  t.same(interpretTokenAnswer(answer(200, { token_type: 'bearer' }), NOW), { kind: 'transient', code: 'malformed_response' })
})

t.test('providerRequest: User-Agent, a stalled body is a timeout, oversized answers are dropped', async (t) => {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers['user-agent'] ?? '')
    if (req.url?.startsWith('/stall') === true) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"access_token":')
      return
    }
    if (req.url === '/big') {
      res.end(JSON.stringify({ access_token: 'x'.repeat(1_100_000) }))
      return
    }
    res.end('{"ok":true}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const http = createProviderHttp({ timeoutMs: 250 })

  const ok = await providerRequest(http, `${base}/ok`)
  t.same(ok.json, { ok: true })
  t.equal(seen[0], DEFAULT_USER_AGENT)
  const custom = createProviderHttp({ timeoutMs: 250, userAgent: 'web:huntaze:1.0 (by /u/huntaze)' })
  await providerRequest(custom, `${base}/ok`, { headers: { 'user-agent': 'overridden?' } })
  t.equal(seen[1], 'web:huntaze:1.0 (by /u/huntaze)', 'the configured agent always wins')

  const started = Date.now()
  const err = await providerRequest(http, `${base}/stall?access_token=canary-token`).catch((e: unknown) => e)
  t.type(err, ProviderTransportError)
  t.match(err, { code: 'timeout' })
  t.ok(Date.now() - started < 5_000, 'the deadline covers the body')
  t.notOk(String((err as Error).message).includes('canary-token'), 'no URL in the message')

  const big = await providerRequest(createProviderHttp({ timeoutMs: 5_000 }), `${base}/big`)
  t.equal(big.json, undefined, 'an oversized answer is not read as JSON')
})

t.test('providerRequest on node:http: bodies, a cut answer, a caller\'s abort, a BOM, a slow answer on a kept-alive connection', async (t) => {
  const seen: Array<{ method: string | undefined, type: string | undefined, length: string | undefined, body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += chunk.toString() })
    req.on('end', () => {
      seen.push({ method: req.method, type: req.headers['content-type'], length: req.headers['content-length'], body })
      if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' })
        res.write('{"access_token":')
        setTimeout(() => res.socket?.destroy(), 20)
      } else if (req.url === '/bom') {
        res.end('\uFEFF{"ok":true}')
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('{"slow":true}'), 4_300)
      } else if (req.url !== '/hang') {
        res.end('{"ok":true}', 'utf8')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const http = createProviderHttp({ timeoutMs: 6_000 })

  await providerRequest(http, `${base}/form`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'r t' }) })
  await providerRequest(http, `${base}/text`, { method: 'POST', body: 'plain' })
  t.same(seen.slice(0, 2), [
    { method: 'POST', type: 'application/x-www-form-urlencoded;charset=UTF-8', length: '42', body: 'grant_type=refresh_token&refresh_token=r+t' },
    { method: 'POST', type: 'text/plain;charset=UTF-8', length: '5', body: 'plain' }
  ], 'bodies and their content types as fetch() sends them')

  t.match(await providerRequest(http, `${base}/cut`).catch((e: unknown) => e), { name: 'ProviderTransportError', code: 'network' }, 'an answer cut mid-body is a network failure')
  t.same((await providerRequest(http, `${base}/bom`)).json, { ok: true }, 'a UTF-8 byte order mark is dropped')

  const caller = new AbortController()
  setTimeout(() => caller.abort(), 100)
  t.match(await providerRequest(http, `${base}/hang`, { signal: caller.signal }).catch((e: unknown) => e), { code: 'timeout' }, 'an abort by the caller ends it as a timeout')
  t.match(await providerRequest(http, `${base}/ok`, { signal: AbortSignal.abort() }).catch((e: unknown) => e), { code: 'timeout' }, 'already aborted: nothing sent')
  t.match(await providerRequest(http, 'ftp://127.0.0.1/x').catch((e: unknown) => e), { code: 'network' }, 'only http(s)')
  t.match(await providerRequest(http, 'not a url').catch((e: unknown) => e), { name: 'ProviderTransportError', code: 'network' })

  // Longer than the 4 s after which idle connections close: an answer being awaited is never cut.
  t.same((await providerRequest(http, `${base}/slow`)).json, { slow: true })
})
