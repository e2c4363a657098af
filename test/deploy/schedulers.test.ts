// The schedulers' and the frontend's files name routes the app really serves: vercel.json's cron path
// (with the header Vercel sends), the EventBridge/GitHub header, and each rewrite to this service.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApp, createTestTable } from '../helper.js'

const ROOT = join(import.meta.dirname, '..', '..')
const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T
const SECRET = 'deploy-cron-secret-0123456789'

t.test('scheduler files call the cron route the app serves, with the headers it accepts', async (t) => {
  const table = await createTestTable(t, 'deploy')
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name, CRON_SECRET: SECRET }, dynamo: table.dynamo })
  const vercel = readJson<{ crons: Array<{ path: string, schedule: string }> }>('vercel.json')
  const [cron] = vercel.crons
  t.equal(cron?.schedule, '*/30 * * * *')
  const path = cron?.path ?? ''

  // Vercel Cron sends `Authorization: Bearer <CRON_SECRET>` (and its own user agent).
  const byVercel = await app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${SECRET}`, 'user-agent': 'vercel-cron/1.0' } })
  t.equal(byVercel.statusCode, 200, `${path} answers Vercel's call`)
  t.equal(typeof byVercel.json().skipped, 'boolean')

  // EventBridge's Connection and the GitHub workflow send x-cron-secret.
  const byHeader = await app.inject({ method: 'GET', url: path, headers: { 'x-cron-secret': SECRET } })
  t.equal(byHeader.statusCode, 200, `${path} answers x-cron-secret`)
  t.equal(byHeader.json().ok, true)

  const vercelHeadersAlone = await app.inject({ method: 'GET', url: path, headers: { 'x-vercel-cron': '1', 'user-agent': 'vercel-cron/1.0' } })
  t.equal(vercelHeadersAlone.statusCode, 401, 'x-vercel-cron alone proves nothing')

  const workflow = readFileSync(join(ROOT, '.github', 'workflows', 'refresh-oauth.yml'), 'utf8')
  t.match(workflow, /x-cron-secret: %s/, 'the workflow sends the x-cron-secret header')
  t.match(workflow, new RegExp(path.replace(/\//g, '\\/')), 'the workflow documents the same path')
  const script = readFileSync(join(ROOT, 'scripts', 'create-eventbridge-cron.sh'), 'utf8')
  t.match(script, /"ApiKeyName":"x-cron-secret"/, 'the EventBridge connection sends the x-cron-secret header')
})

t.test('each Amplify rewrite to this service reaches a route family the app serves', async (t) => {
  const table = await createTestTable(t, 'deploy')
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name, CRON_SECRET: SECRET }, dynamo: table.dynamo })
  const rules = readJson<Array<{ source: string, target: string }>>('amplify-rewrites.json')
  const probes: Record<string, string> = {
    '/api/auth/<*>': '/api/auth/reddit',
    '/api/cron/<*>': '/api/cron/refresh-oauth/last',
    '/api/platforms/<*>': '/api/platforms/status'
  }
  const ours = rules.filter((r) => r.target.startsWith('https://oauth-refresher.'))
  t.same(ours.map((r) => r.source), Object.keys(probes))
  for (const rule of ours) {
    const url = probes[rule.source] ?? ''
    const res = await app.inject({ method: 'GET', url })
    t.not(res.statusCode, 404, `${rule.source}: ${url} is served here (${res.statusCode})`)
    t.equal(res.statusCode, 401, `${url} wants a secret or an identity`)
  }
  const notOurs = await app.inject({ method: 'GET', url: '/api/users/me' })
  t.equal(notOurs.statusCode, 404, 'what the catch-all sends to api.huntaze.com is not served here')
})
