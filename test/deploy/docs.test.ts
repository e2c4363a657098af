// The runbook and the architecture page are followed at 3 a.m.: every repository file they name
// exists, every `ops` command they give is one the CLI knows, and every service path they curl is
// a route the app serves.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { USAGE } from '../../src/cli/ops.js'
import { CONNECTION_EVENTS } from '../../src/store/event-item.js'
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../../src/webhooks/schedule.js'
import { buildApp, createTestTable } from '../helper.js'

const ROOT = join(import.meta.dirname, '..', '..')
const DOCS = ['docs/runbook.md', 'docs/architecture.md', 'docs/deploy.md', 'docs/internal-api.md', 'docs/webhooks.md']
const text = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

t.test('every repository path the docs name exists', async (t) => {
  for (const doc of DOCS) {
    const paths = new Set([...text(doc).matchAll(/(?<![\w/.-])((?:scripts|infra|docker|docs|test|src|\.github)\/[\w./-]+\.[a-z]+|Dockerfile|docker-compose\.yml|vercel\.json|amplify\.yml|amplify-rewrites\.json|\.env\.example)\b/g)].map((m) => m[1] ?? ''))
    t.ok(paths.size > 3, `${doc} names files (${paths.size})`)
    for (const path of paths) t.ok(existsSync(join(ROOT, path)), `${doc}: ${path} exists`)
    // Relative Markdown links resolve from the doc's own folder.
    for (const [, link] of text(doc).matchAll(/\]\((?!https?:)([^)#\s]+)\)/g)) {
      t.ok(existsSync(join(ROOT, dirname(doc), link ?? '')), `${doc}: link ${link ?? ''} resolves`)
    }
  }
})

t.test('every `ops` command in the runbook is one the CLI offers', async (t) => {
  const commands = [...text('docs/runbook.md').matchAll(/^ops ([a-z-]+(?: [a-z-]+)?)/gm)].map((m) => m[1] ?? '')
  t.ok(commands.includes('lock status') && commands.includes('due'), 'found the lock and due commands')
  const known = ['lock status', 'lock release', 'due', 'create-table']
  for (const command of commands) {
    t.ok(known.some((k) => command.startsWith(k)), `ops ${command}`)
    t.ok(USAGE.includes(command.split(' --')[0] ?? command), `the CLI's usage lists ${command}`)
  }
})

t.test('every service path the runbook calls is served', async (t) => {
  const table = await createTestTable(t, 'docs')
  const secret = 'docs-cron-secret-0123456789'
  const app = await buildApp(t, { env: { TOKENS_TABLE: table.name, CRON_SECRET: secret }, dynamo: table.dynamo })
  const paths = new Set([...text('docs/runbook.md').matchAll(/\$BASE(\/[\w/.-]+(?:\?wait=true)?)/g)].map((m) => m[1] ?? ''))
  t.ok(paths.has('/api/cron/refresh-oauth') && paths.has('/api/cron/refresh-oauth?wait=true') && paths.has('/readyz'))
  for (const path of paths) {
    const res = await app.inject({ method: 'GET', url: path, headers: { 'x-cron-secret': secret } })
    t.equal(res.statusCode, 200, `GET ${path}`)
  }
})

t.test('docs/webhooks.md: every event type, and the retry schedule the worker runs', async (t) => {
  const doc = text('docs/webhooks.md').replace(/\s+/g, ' ')
  for (const type of Object.values(CONNECTION_EVENTS)) t.ok(doc.includes(`| \`${type}\``), `${type} documented`)
  const unit = (ms: number): string => ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1_000} s`
  const words = WEBHOOK_RETRY_SCHEDULE_MS.map(unit)
  t.ok(doc.includes(`${words.slice(0, -1).join(', ')} and ${words.at(-1) ?? ''}`), `the schedule: ${words.join(', ')}`)
  t.ok(doc.includes(`${WEBHOOK_RETRY_SCHEDULE_MS.length + 1} attempts`), 'the number of attempts')
  t.ok(WEBHOOK_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0) >= 24 * 3_600_000, 'at least 24 h of retries')
  t.ok((WEBHOOK_RETRY_SCHEDULE_MS[0] ?? Infinity) <= 30_000, 'the first retry within 30 s')
})

t.test('docs/internal-api.md: the curl calls the served route', async (t) => {
  const doc = text('docs/internal-api.md')
  t.match(doc, /"\$BASE\/api\/internal\/tokens\/\$USER_ID\/reddit"/)
  t.match(doc, /Cache-Control: no-store/)
})
