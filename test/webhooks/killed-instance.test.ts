// A process SIGKILLed between the state change and the delivery loses nothing: the event was written
// with the change, and another instance on the same table delivers it.
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { loadConfig } from '../../src/config.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore } from '../../src/store/token-store.js'
import { createWebhookOutbox } from '../../src/store/webhook-outbox.js'
import { RedditFake } from '../fakes/reddit.js'
import { createTestTable, testEnv } from '../helper.js'
import { seedTokens, waitFor } from '../helpers/refresh.js'
import { freePort, startServer, waitReady, within } from '../helpers/server-process.js'
import { webhookSecret, WebhookReceiver } from '../helpers/webhook-receiver.js'

const KEY = 'internal-key-0123456789abcdef'

t.test('SIGKILL after the state change, before any delivery: the next instance delivers', async (t) => {
  const table = await createTestTable(t)
  const reddit = await RedditFake.start(t)
  const secret = webhookSecret()
  // The receiver is down while the first instance lives: it cannot have delivered anything.
  const receiver = new WebhookReceiver()
  receiver.port = await freePort()
  const env = testEnv({ TOKENS_TABLE: table.name, INTERNAL_API_KEY: KEY, REAUTH_WEBHOOK_URL: receiver.url, REAUTH_WEBHOOK_SECRET: secret, LOG_LEVEL: 'warn', ...reddit.env() })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(loadConfig(env).encryptionKeys) })
  const outbox = createWebhookOutbox({ doc: table.dynamo.doc, table: table.name })
  const [token] = await seedTokens(store, reddit, 1, { expiresInMs: 2 * 60_000, now: Date.now })

  const first = await startServer(t, env)
  await waitReady(first, 30_000)
  reddit.failNext('refresh', { kind: 'invalid_grant' })
  const res = await fetch(`http://127.0.0.1:${first.port}/api/internal/tokens/${token!.userId}/reddit`, { headers: { authorization: `Bearer ${KEY}` } })
  t.equal(res.status, 409, 'the connection became needs_reauth')
  first.child.kill('SIGKILL')
  t.same(await within(first.exited, 10_000, 'SIGKILL'), { code: null, signal: 'SIGKILL' })

  const pending = await outbox.list('pending')
  t.equal(pending.length, 1, 'the event outlived the process')
  t.equal(receiver.deliveries.length, 0)

  await receiver.listen(t, receiver.port)
  const second = await startServer(t, env)
  await waitReady(second, 30_000)
  // Due at once, or after the first retry pause (5 s), or when a dead sender's lease ends (15 s).
  await waitFor(() => receiver.deliveries.length === 1, 30_000)
  const [delivery] = receiver.deliveries
  t.equal(delivery!.headers['webhook-id'], pending[0]!.id, 'the event written by the killed instance')
  const body = new Webhook(secret).verify(delivery!.body, delivery!.headers as Record<string, string>) as { type: string, data: { userId: string } }
  t.equal(body.type, 'connection.needs_reauth')
  t.equal(body.data.userId, token!.userId)
  await waitFor(async () => (await outbox.list('pending')).length === 0, 10_000)
  second.child.kill('SIGTERM')
  await within(second.exited, 15_000, 'SIGTERM')
})
