// Static checks that need outside tools: shellcheck on every shell script (scripts/*.sh, .ci/run and
// the workflows' `run:` blocks) and action-validator on every GitHub workflow. A missing tool is a
// failure, never a skip: .ci/run installs shellcheck; action-validator is a dev dependency.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import yaml from 'js-yaml'
import t from 'tap'

const ROOT = join(import.meta.dirname, '..', '..')
const WORKFLOWS = join(ROOT, '.github', 'workflows')

const scripts = [
  ...readdirSync(join(ROOT, 'scripts')).filter((f) => f.endsWith('.sh')).map((f) => join('scripts', f)),
  join('.ci', 'run')
]
const workflows = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f))

t.test('shellcheck is installed', async (t) => {
  const r = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' })
  t.equal(r.status, 0, 'shellcheck must be on PATH (apt-get install shellcheck; .ci/run does it)')
})

t.test('every shell script passes shellcheck', async (t) => {
  t.ok(scripts.includes(join('scripts', 'create-eventbridge-cron.sh')), 'the EventBridge script is among them')
  for (const file of scripts) {
    const r = spawnSync('shellcheck', ['--severity=style', '--external-sources', file], { cwd: ROOT, encoding: 'utf8' })
    t.equal(r.status, 0, `${file}\n${r.stdout}${r.stderr}`)
  }
})

t.test('every workflow `run:` block passes shellcheck as bash', async (t) => {
  const dir = t.testdir({})
  let blocks = 0
  for (const file of workflows) {
    const doc = yaml.load(readFileSync(join(WORKFLOWS, file), 'utf8')) as { jobs: Record<string, { steps?: Array<{ run?: string, shell?: string }> }> }
    for (const [job, { steps = [] }] of Object.entries(doc.jobs)) {
      steps.forEach((step, i) => {
        if (step.run === undefined) return
        blocks++
        t.notMatch(step.run, /\$\{\{/, `${file} ${job}#${i}: expressions go through env:, never into the script text`)
        t.notMatch(step.run, /set -x|set -o xtrace/, `${file} ${job}#${i}: no xtrace (it would print the secret)`)
        const path = join(dir, `${file}-${job}-${i}.sh`)
        writeFileSync(path, `#!/usr/bin/env bash\n${step.run}`)
        const r = spawnSync('shellcheck', ['--severity=style', path], { encoding: 'utf8' })
        t.equal(r.status, 0, `${file} ${job}#${i}\n${r.stdout}${r.stderr}`)
      })
    }
  }
  t.ok(blocks > 0, 'found run blocks')
})

t.test('shellcheck really fails on a bad script', async (t) => {
  const dir = t.testdir({ 'bad.sh': '#!/usr/bin/env bash\nrm -rf $1/*\n' })
  const r = spawnSync('shellcheck', [join(dir, 'bad.sh')], { encoding: 'utf8' })
  t.not(r.status, 0)
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
