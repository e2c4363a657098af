// Static checks that need no system tool: action-validator (a dev dependency) on every GitHub workflow,
// the refresh workflow's shape, and what `npm run check:shell` covers. shellcheck itself runs only in
// `npm run check:shell` (scripts/check-shell.ts), which .ci/run calls after `npm test`.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import yaml from 'js-yaml'
import t from 'tap'
import { checkShell, MISSING_SHELLCHECK, shellScripts, workflowRunBlocks } from '../../scripts/check-shell.js'
import { CHILD_ENV_BASE } from '../helpers/child-env.js'

const ROOT = join(import.meta.dirname, '..', '..')
const WORKFLOWS = join(ROOT, '.github', 'workflows')

const workflows = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f))

t.test('check:shell covers every shell script and workflow run block', async (t) => {
  const scripts = shellScripts()
  t.ok(scripts.includes(join('scripts', 'create-eventbridge-cron.sh')), 'the EventBridge script is among them')
  t.ok(scripts.includes(join('.ci', 'run')), '.ci/run is among them')
  const blocks = workflowRunBlocks()
  t.ok(blocks.some((b) => b.name.startsWith('refresh-oauth.yml ')), 'found the refresh workflow\'s run blocks')
  for (const { name, script } of blocks) {
    t.notMatch(script, /\$\{\{/, `${name}: expressions go through env:, never into the script text`)
    t.notMatch(script, /set -x|set -o xtrace/, `${name}: no xtrace (it would print the secret)`)
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts['check:shell'], 'node --import tsx scripts/check-shell.ts')
  t.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /\nnpm test\nnpm run check:shell\n/, '.ci/run runs it after npm test')
})

t.test('check:shell without shellcheck on PATH: one line saying how to install it', async (t) => {
  // A PATH holding only node: the real script, as a child process, finds no shellcheck.
  const bin = t.testdir({})
  symlinkSync(process.execPath, join(bin, 'node'))
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-shell.ts'], {
    cwd: ROOT,
    env: { ...CHILD_ENV_BASE, PATH: bin },
    encoding: 'utf8',
    timeout: 30_000
  })
  t.equal(r.status, 1, 'fails, never a silent pass')
  t.equal(r.stderr, `${MISSING_SHELLCHECK}\n`, 'exactly one line')
  t.equal(MISSING_SHELLCHECK, 'shellcheck not found: apt-get install shellcheck')
  t.equal(r.stdout, '')

  // The same function in this process, with the same PATH.
  const path = process.env.PATH
  t.teardown(() => { process.env.PATH = path })
  process.env.PATH = bin
  const lines: string[] = []
  t.equal(checkShell((line) => { lines.push(line) }), 1)
  t.same(lines, [MISSING_SHELLCHECK])
})

t.test('every workflow is valid for GitHub (action-validator)', async (t) => {
  const bin = join(ROOT, 'node_modules', '.bin', 'action-validator')
  t.ok(workflows.includes('refresh-oauth.yml'))
  for (const file of workflows) {
    const r = spawnSync(bin, [join(WORKFLOWS, file)], { encoding: 'utf8' })
    t.equal(r.status, 0, `${file}\n${r.stdout}${r.stderr}`)
  }
  const dir = t.testdir({ 'bad.yml': 'on:\n  schedule:\n    - cron: 15\njobs:\n  x:\n    runs-on: ubuntu-latest\n    timeout-minutes: soon\n' })
  t.not(spawnSync(bin, [join(dir, 'bad.yml')], { encoding: 'utf8' }).status, 0, 'and it does reject an invalid workflow')
})

t.test('refresh-oauth.yml: schedule + manual, repository secret, bounded, fails on non-2xx, skipped is success', async (t) => {
  const text = readFileSync(join(WORKFLOWS, 'refresh-oauth.yml'), 'utf8')
  const doc = yaml.load(text) as { on: Record<string, unknown>, jobs: Record<string, { 'timeout-minutes'?: number, steps: Array<{ run?: string, env?: Record<string, string> }> }> }
  t.match(doc.on, { schedule: [{ cron: '15,45 * * * *' }] }, 'at :15 and :45, between Vercel/EventBridge runs')
  t.ok('workflow_dispatch' in doc.on)
  const job = Object.values(doc.jobs)[0]
  t.ok(job !== undefined && typeof job['timeout-minutes'] === 'number' && job['timeout-minutes'] <= 10, 'timeout-minutes')
  const step = job?.steps.find((s) => s.run?.includes('curl') === true)
  t.match(step?.env?.CRON_SECRET, /^\$\{\{ secrets\.CRON_SECRET \}\}$/, 'secret from repository secrets')
  t.match(step?.run, /--fail-with-body/)
  t.match(step?.run, /"\$\{code:0:1\}" != "2"/, 'any non-2xx status fails the job')
  t.match(step?.run, /\.skipped == true/, 'skipped: true is reported as success')
  t.notMatch(step?.run, /echo[^\n]*CRON_SECRET"?\s*$/m, 'the secret is never echoed')
})
