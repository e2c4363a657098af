// No secret reaches a log line: headers, cookies, cron secrets, query values (an OAuth callback's code
// and state), and tokens inside logged objects — through the real logger options of server-options.ts.
import { once } from 'node:events'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { redactUrl } from '../src/log-redaction.js'
import { startJwksIssuer } from './fakes/jwks-issuer.js'
import { buildApp, createTestTable, LogCapture } from './helper.js'

const CANARY = 'CANARY7f3a'

t.test('requests carrying secrets in headers, cookies and the query leave no canary in any log line', async (t) => {
  const logs = new LogCapture()
  const app = await buildApp(t, { logs })
  const headers = {
    authorization: `Bearer ${CANARY}-auth`,
    cookie: `session=${CANARY}-cookie; CognitoIdentityServiceProvider.c.u.idToken=${CANARY}-jwt`,
    'x-cron-secret': `${CANARY}-cron`,
    'x-api-key': `${CANARY}-key`
  }
  const urls = [
    `/healthz?code=${CANARY}-code&state=${CANARY}-state`,
    `/api/auth/reddit/callback?code=${CANARY}-code&state=${CANARY}-state&error=access_denied`,
    `/nowhere?access_token=${CANARY}&refresh_token=${CANARY}#frag`
  ]
  for (const url of urls) {
    for (const method of ['GET', 'POST'] as const) {
      await app.inject({ method, url, headers, ...(method === 'POST' ? { payload: { refresh_token: `${CANARY}-body` } } : {}) })
    }
  }
  t.ok(logs.lines.length >= urls.length * 2, `requests were logged (${logs.lines.length} lines)`)
  t.ok(logs.lines.some((l) => l.includes('/healthz?code=[Redacted]&state=[Redacted]')), 'the query keys stay, the values go')
  t.ok(logs.lines.some((l) => l.includes('error=access_denied')), 'a safe query value is kept')
  t.same(logs.lines.filter((l) => l.includes(CANARY)), [], 'no canary in any log line')
})

t.test('tokens and secrets inside logged objects are redacted', async (t) => {
  const logs = new LogCapture()
  const app = await buildApp(t, { logs })
  app.log.info({ accessToken: `${CANARY}-1`, refreshToken: `${CANARY}-2`, code: `${CANARY}-3`, state: `${CANARY}-4`, token: `${CANARY}-5`, secret: `${CANARY}-6` }, 'top level')
  app.log.info({ grant: { access_token: `${CANARY}-7`, refresh_token: `${CANARY}-8`, id_token: `${CANARY}-9`, code_verifier: `${CANARY}-10` } }, 'one level down')
  app.log.info({ platform: { clientSecret: `${CANARY}-11`, client_secret: `${CANARY}-12` } }, 'client secrets')
  app.log.info({ headers: { authorization: `Bearer ${CANARY}-13`, cookie: `${CANARY}-14`, 'x-cron-secret': `${CANARY}-15` } }, 'headers')
  app.log.info({ req: { headers: { authorization: `${CANARY}-16`, cookie: `${CANARY}-17`, 'x-cron-secret': `${CANARY}-18`, 'x-api-key': `${CANARY}-19` } } }, 'req headers')
  const messages = ['top level', 'one level down', 'client secrets', 'headers', 'req headers']
  const mine = logs.lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => messages.includes(l.msg))
  t.same(mine.map((l) => l.msg), messages)
  t.same(logs.lines.filter((l) => l.includes(CANARY)), [], 'no canary in any line')
  t.ok(mine.slice(0, 4).every((l) => JSON.stringify(l).includes('[Redacted]')), 'redacted, not dropped')
  // `req` goes through the request serializer, which keeps no header at all.
  t.same((mine[4] as { req?: unknown }).req, {})
})

t.test('redactUrl keeps the path and the keys, and only the values of safe keys', async (t) => {
  t.equal(redactUrl('/a/b'), '/a/b')
  t.equal(redactUrl('/cb?code=x&state=y'), '/cb?code=[Redacted]&state=[Redacted]')
  t.equal(redactUrl('/cron?wait=true'), '/cron?wait=true')
  t.equal(redactUrl('/x?platform=reddit&error=access_denied&returnTo=%2Fsecret'), '/x?platform=reddit&error=access_denied&returnTo=[Redacted]')
  t.equal(redactUrl('/x?'), '/x?')
})

// Regression (issue 14): at trace, Fastify's client-error handler logged `err.rawPacket`, the raw bytes
// of the connection's buffer as a decimal array that text redaction never sees; a cron secret and a
// JWT sent just before a header with a bare LF were read back from it.
t.test('at trace, a malformed request after a valid cron secret and JWT on one connection logs neither', async (t) => {
  const issuer = await startJwksIssuer()
  t.teardown(() => issuer.close())
  const table = await createTestTable(t, 'trace')
  const secret = `${CANARY}-cron-secret-0123456789`
  const jwt = await issuer.accessToken({ sub: 'trace-user' })
  const logs = new LogCapture()
  const app = await buildApp(t, { env: { LOG_LEVEL: 'trace', TOKENS_TABLE: table.name, CRON_SECRET: secret, ...issuer.env }, dynamo: table.dynamo, logs })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  // Both credentials are valid ones: what is at stake is a secret that works.
  t.equal((await app.inject({ url: '/api/cron/refresh-oauth/last', headers: { 'x-cron-secret': secret } })).statusCode, 200)
  t.equal((await app.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${jwt}` } })).statusCode, 200)

  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  // Pipelined on one connection: the two valid requests sit in the parser's buffer with the bad one.
  socket.write(
    `GET /api/cron/refresh-oauth/last HTTP/1.1\r\nHost: localhost\r\nx-cron-secret: ${secret}\r\n\r\n` +
    `GET /api/platforms/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${jwt}\r\n\r\n` +
    'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Bad: one\ntwo\r\n\r\n'
  )
  await once(socket, 'close')

  // The parser refuses the buffer before the two async handlers answer: one 400 closes the connection.
  const statuses = [...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1])
  t.same(statuses, ['400'], 'the malformed request refused')
  t.match(answer, /\r\n\r\n\{"ok":false,"error":"bad_request"\}$/, 'the contract body for the malformed request')
  t.ok(logs.lines.some((l) => l.includes('"clientError"')), 'the client error was logged (its code only)')
  const decimal = (value: string): string => [...Buffer.from(value)].join(',')
  for (const [name, value] of [['cron secret', secret], ['JWT', jwt], ['JWT signature', jwt.split('.')[2] ?? jwt]] as const) {
    t.same(logs.lines.filter((l) => l.includes(value)), [], `${name}: not in any line as text`)
    t.same(logs.lines.filter((l) => l.replaceAll(' ', '').includes(decimal(value.slice(0, 24)))), [], `${name}: not in any line as bytes`)
  }
  t.same(logs.lines.filter((l) => l.includes('rawPacket')), [], 'no raw packet logged')
})
