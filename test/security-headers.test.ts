// Security headers on every kind of answer (issue 14): helmet configured for an API, through app.ts.
import t from 'tap'
import { buildApp, createTestTable } from './helper.js'

t.test('every answer carries the API security headers', async (t) => {
  const table = await createTestTable(t, 'headers')
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name }, dynamo: table.dynamo })
  const answers = {
    'health 200': await app.inject({ url: '/healthz' }),
    'unknown route 404': await app.inject({ url: '/nowhere' }),
    'no identity 401': await app.inject({ url: '/api/platforms/status' }),
    'cron without secret 401': await app.inject({ url: '/api/cron/refresh-oauth/last' }),
    'callback 302': await app.inject({ url: '/api/auth/reddit/callback' })
  }
  for (const [name, res] of Object.entries(answers)) {
    t.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'", `${name}: CSP`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`)
    t.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', `${name}: HSTS`)
    t.equal(res.headers['x-frame-options'], 'DENY', `${name}: frame options`)
    t.equal(res.headers['cross-origin-resource-policy'], 'same-origin', `${name}: CORP`)
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${name}: referrer policy`)
    t.notOk('x-powered-by' in res.headers, `${name}: no x-powered-by`)
  }
})
