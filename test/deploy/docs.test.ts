// The docs are followed at 3 a.m. and by newcomers: every repository file they name exists, every
// relative link resolves, the README lists every page, the contract names every route and error code,
// every `ops` command they give is one the CLI knows, and every service path they curl is served.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { USAGE } from '../../src/cli/ops.js'
import { ERROR_CODES } from '../../src/errors.js'
import { CONNECTION_EVENTS } from '../../src/store/event-item.js'
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../../src/webhooks/schedule.js'
import { buildApp, createTestTable } from '../helper.js'

const ROOT = join(import.meta.dirname, '..', '..')
// The pages whose every named repository path is checked (each names several).
const DOCS = ['docs/runbook.md', 'docs/architecture.md', 'docs/deploy.md', 'docs/internal-api.md', 'docs/webhooks.md', 'docs/contract.md', 'docs/getting-started.md', 'docs/configuration.md', 'README.md']
const text = (file: string): string => readFileSync(join(ROOT, file), 'utf8')
/** README.md and every page under docs/, as the links check reads them. */
const ALL_PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)]

t.test('every repository path the docs name exists', async (t) => {
  for (const doc of DOCS) {
    const paths = new Set([...text(doc).matchAll(/(?<![\w/.-])((?:scripts|infra|docker|docs|test|src|\.github)\/[\w./-]+\.[a-z]+|Dockerfile|docker-compose\.yml|vercel\.json|amplify\.yml|amplify-rewrites\.json|\.env\.example)\b/g)].map((m) => m[1] ?? ''))
    t.ok(paths.size > 3, `${doc} names files (${paths.size})`)
    for (const path of paths) t.ok(existsSync(join(ROOT, path)), `${doc}: ${path} exists`)
  }
})

t.test('every relative link in the README and docs/ resolves', async (t) => {
  t.ok(ALL_PAGES.length > 10, `${ALL_PAGES.length} pages`)
  let links = 0
  for (const page of ALL_PAGES) {
    // Relative Markdown links, anchors aside, resolve from the page's own folder.
    for (const [, link] of text(page).matchAll(/\]\((?!https?:|mailto:|#)([^)#\s]+)(?:#[^)\s]*)?\)/g)) {
      links++
      t.ok(existsSync(join(ROOT, dirname(page), link ?? '')), `${page}: link ${link ?? ''} resolves`)
    }
  }
  t.ok(links > 50, `${links} links checked`)
})

t.test('the README stands alone: a newcomer\'s page that lists every doc and points outside nothing', async (t) => {
  const readme = text('README.md')
  t.ok(Buffer.byteLength(readme) <= 12 * 1024, `README.md is ${Buffer.byteLength(readme)} bytes (at most 12 KB: the rest lives in docs/)`)
  t.match(readme, /^```sh\nnpm ci && npm start .*\nnpm ci && npm test /m, 'opens with the two commands')
  for (const page of ALL_PAGES.filter((p) => p !== 'README.md')) t.ok(readme.includes(`](${page})`), `README links ${page}`)
  for (const script of ['simulate', 'bench', 'ops', 'infra:alarms', 'infra:iam', 'infra:table', 'check:shell']) {
    t.ok(readme.includes(`npm run ${script}`), `README names npm run ${script}`)
  }
  t.match(readme, /http:\/\/localhost:3000\/dev/)
  // Nothing in the repository may lean on a folder beside it.
  const outside = spawnSync('git', ['grep', '-n', '-e', ['\\.\\.', 'shared'].join('/'), '-e', ['shared', 'design'].join('/'), '-e', ['shared', 'seed'].join('/')], { cwd: ROOT, encoding: 'utf8' })
  t.equal(outside.status, 1, `no reference outside the repository:\n${outside.stdout}`)
})

t.test('docs/contract.md names every route and every stable error code', async (t) => {
  const contract = text('docs/contract.md')
  const routes = readdirSync(join(ROOT, 'src', 'routes')).flatMap((f) => [...text(`src/routes/${f}`).matchAll(/\.(?:get|post|delete|put)\('([^']+)'/g)].map((m) => m[1] ?? ''))
  t.ok(routes.length >= 8, `${routes.length} routes in src/routes`)
  for (const route of routes) t.ok(contract.includes(route), `route ${route}`)
  for (const code of Object.values(ERROR_CODES)) t.ok(contract.includes(`| \`${code}\` |`), `error code ${code} in the table`)
  const table = [...contract.matchAll(/^\| `([a-z_]+)` \| \d{3} \|/gm)].map((m) => m[1])
  t.same(table.filter((code) => !(Object.values(ERROR_CODES) as string[]).includes(code ?? '')), [], 'and the table lists no code the service never answers')
  t.match(contract, /\{ "ok": false, "error": "<stable_code>", "message": "<safe text, optional>" \}/, 'the error envelope')
})

t.test('every `ops` command in the runbook is one the CLI offers', async (t) => {
  const commands = [...text('docs/runbook.md').matchAll(/^ops ([a-z-]+(?: [a-z-]+)?)/gm)].map((m) => m[1] ?? '')
  t.ok(commands.includes('lock status') && commands.includes('due'), 'found the lock and due commands')
  const known = ['lock status', 'lock release', 'due', 'create-table', 'webhooks']
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
  t.match(doc, /"\$BASE\/api\/internal\/proxy\/\$USER_ID\/reddit\/api\/v1\/me"/, 'and the proxy\'s curl calls the proxy route')
  t.match(doc, /Cache-Control: no-store/)
})
