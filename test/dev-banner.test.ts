// `npm start`'s banner and development log format, in process (test/server-dev.test.ts checks them
// on the real process).
import { PassThrough } from 'node:stream'
import Fastify from 'fastify'
import t from 'tap'
import { devBanner } from '../src/dev-banner.js'
import { developmentLogStream, serverOptions } from '../src/server-options.js'

t.test('the banner: where it serves, how to call cron without printing the secret', async (t) => {
  const lines = devBanner({ port: 3000, host: '127.0.0.1', dataDir: '/repo/.data', cwd: '/repo', cronSecretGenerated: true, embeddedStore: true })
  t.equal(lines[0], 'oauth-refresher is ready: http://localhost:3000 (development, this machine only)')
  t.equal(lines[1], '  next: open http://localhost:3000/dev (development sign-in and console; docs/dev-console.md)')
  t.equal(lines[2], '  cron: curl -H "x-cron-secret: $(node -p "require(\'./.data/dev-secrets.json\').CRON_SECRET")" http://localhost:3000/api/cron/refresh-oauth')

  const elsewhere = devBanner({ port: 4000, host: '0.0.0.0', dataDir: '/var/dev', cwd: '/repo', cronSecretGenerated: false, embeddedStore: false })
  t.equal(elsewhere[0], 'oauth-refresher is ready: http://localhost:4000 (development, every interface (HOST=0.0.0.0))')
  t.equal(elsewhere[2], '  cron: curl -H "x-cron-secret: $CRON_SECRET" http://localhost:4000/api/cron/refresh-oauth', 'a secret the developer set stays theirs')
  t.equal(elsewhere[3], '  ops:  npm run ops -- lock status (with the same DYNAMODB_ENDPOINT)', 'a store the developer pointed at')
  t.equal(lines[3], '  ops:  npm run ops -- lock status (it finds this store by itself)')
  const outside = devBanner({ port: 3000, host: '127.0.0.1', dataDir: '/var/dev', cwd: '/repo', cronSecretGenerated: true, embeddedStore: true })
  t.match(outside[2], "require('/var/dev/dev-secrets.json')", 'a data dir outside the working directory: absolute')
})

t.test('development logs are pretty lines, still redacted; elsewhere JSON', async (t) => {
  t.ok(serverOptions({ logLevel: 'info', nodeEnv: 'development' }).logger !== undefined)
  t.match(serverOptions({ logLevel: 'info', nodeEnv: 'development' }).logger, { stream: {} }, 'development: a pretty stream')
  t.notOk('stream' in (serverOptions({ logLevel: 'info', nodeEnv: 'production' }).logger as object), 'production: pino\'s own JSON to stdout')

  const sink = new PassThrough()
  let text = ''
  sink.on('data', (c: Buffer) => { text += c.toString() })
  const app = Fastify(serverOptions({ logLevel: 'info', nodeEnv: 'development' }, developmentLogStream(sink, false)))
  t.teardown(() => app.close())
  app.log.info({ headers: { authorization: 'Bearer CANARY-token' }, refreshToken: 'CANARY-rt' }, 'a request')
  t.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: a request \{.*"authorization":"\[Redacted\]".*\}\n$/)
  t.notMatch(text, /CANARY/, 'redaction happens before pretty-printing')
  t.notMatch(text, /"pid"|"hostname"/)
})
