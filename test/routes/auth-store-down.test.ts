// DynamoDB not answering during the connect flow: the start is a 503 JSON error, the callback still
// redirects back to the app (the browser is mid-flow) with error=store_unavailable, never a 500.
import t from 'tap'
import { sign } from '@fastify/cookie'
import { randomBytes } from 'node:crypto'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { buildApp, LogCapture } from '../helper.js'

const issuer = await startJwksIssuer()
t.teardown(() => issuer.close())
// Port 9 (discard) on loopback: nothing listens there, connections are refused at once.
const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })
t.teardown(() => dynamo.client.destroy())
const COOKIE_SECRET = randomBytes(32).toString('base64url')
const logs = new LogCapture()
const app = await buildApp(t, {
  env: {
    ...issuer.env,
    COOKIE_SECRET,
    REDDIT_CLIENT_ID: 'reddit-id',
    REDDIT_CLIENT_SECRET: 'reddit-secret-0123456789',
    REDDIT_REDIRECT_URI: 'https://app.example.test/api/auth/reddit/callback'
  },
  dynamo,
  logs
})

t.test('start: 503 store_unavailable', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/auth/reddit', headers: { authorization: `Bearer ${await issuer.accessToken()}` } })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { ok: false, error: 'store_unavailable' })
  t.same(res.cookies, [], 'no cookie for a flow that was never stored')
})

t.test('callback: 302 back to the app with error=store_unavailable', async (t) => {
  const state = randomBytes(32).toString('base64url')
  const nonce = randomBytes(32).toString('base64url')
  const res = await app.inject({
    method: 'GET',
    url: `/api/auth/reddit/callback?code=some-code-CANARY&state=${state}`,
    headers: { cookie: `oauth_flow_reddit=${sign(nonce, COOKIE_SECRET)}` }
  })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, 'https://app.example.test/settings/integrations?error=store_unavailable&platform=reddit')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notOk(logs.text.includes('some-code-CANARY'))
  t.notOk(logs.text.includes(state))
  t.notOk(logs.text.includes(nonce))
})
