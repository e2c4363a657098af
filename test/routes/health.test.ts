import t from 'tap'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { buildApp, createTestTable } from '../helper.js'

t.test('healthz answers while the process is up', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true })
})

t.test('readyz makes a DynamoDB round trip', async (t) => {
  const table = await createTestTable(t)
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name } })
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true })
})

t.test('readyz answers 503 store_unavailable when DynamoDB does not answer', async (t) => {
  // Port 9 (discard) on loopback: nothing listens there, connections are refused at once.
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })
  t.teardown(() => dynamo.client.destroy())
  const app = await buildApp(t, { dynamo })
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { ok: false, error: 'store_unavailable' })
})

t.test('unknown routes answer the contract error shape', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ method: 'GET', url: '/api/nothing-here' })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { ok: false, error: 'not_found' })
})
