// `npm run check:shell`: shellcheck on every shell script (scripts/*.sh, .ci/run) and on every
// workflow `run:` block (as bash). Kept out of `npm test` because shellcheck is a system tool and the
// tap suite must pass on a machine with only Node and Java; .ci/run installs shellcheck and runs this
// after `npm test`. A missing shellcheck is a failure (one line saying how to install it), never a skip.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import yaml from 'js-yaml'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const MISSING_SHELLCHECK = 'shellcheck not found: apt-get install shellcheck'

/** The repository's shell scripts, relative to ROOT. */
export function shellScripts (): string[] {
  return [
    ...readdirSync(join(ROOT, 'scripts')).filter((f) => f.endsWith('.sh')).sort().map((f) => join('scripts', f)),
    join('.ci', 'run')
  ]
}

export interface RunBlock { readonly name: string, readonly script: string }

/** Every `run:` block of every workflow, named `<file> <job>#<step index>`. */
export function workflowRunBlocks (): RunBlock[] {
  const dir = join(ROOT, '.github', 'workflows')
  const blocks: RunBlock[] = []
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = yaml.load(readFileSync(join(dir, file), 'utf8')) as { jobs: Record<string, { steps?: Array<{ run?: string }> }> }
    for (const [job, { steps = [] }] of Object.entries(doc.jobs)) {
      steps.forEach((step, i) => {
        if (step.run !== undefined) blocks.push({ name: `${file} ${job}#${i}`, script: step.run })
      })
    }
  }
  return blocks
}

function shellcheck (args: string[]): { status: number | null, output: string } {
  const r = spawnSync('shellcheck', ['--severity=style', ...args], { cwd: ROOT, encoding: 'utf8' })
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() }
}

/** Prints one line per problem on stderr; returns the exit code. */
export function checkShell (err: (line: string) => void): number {
  const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    err(MISSING_SHELLCHECK)
    return 1
  }
  const failures: string[] = []
  // shellcheck itself must still reject a bad script, or every pass below means nothing.
  const dir = mkdtempSync(join(tmpdir(), 'check-shell-'))
  try {
    writeFileSync(join(dir, 'bad.sh'), '#!/usr/bin/env bash\nrm -rf $1/*\n')
    if (shellcheck([join(dir, 'bad.sh')]).status === 0) failures.push('shellcheck accepted a script with an unquoted $1: it is not checking')
    for (const file of shellScripts()) {
      const r = shellcheck(['--external-sources', file])
      if (r.status !== 0) failures.push(`${file}\n${r.output}`)
    }
    for (const [i, block] of workflowRunBlocks().entries()) {
      const path = join(dir, `block-${i}.sh`)
      writeFileSync(path, `#!/usr/bin/env bash\n${block.script}`)
      const r = shellcheck([path])
      if (r.status !== 0) failures.push(`${block.name}\n${r.output.replaceAll(path, block.name)}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  for (const failure of failures) err(failure)
  return failures.length === 0 ? 0 : 1
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = checkShell((line) => { process.stderr.write(`${line}\n`) })
  if (code === 0) process.stdout.write(`shellcheck: ${shellScripts().length} scripts and ${workflowRunBlocks().length} workflow run blocks pass\n`)
  process.exitCode = code
}
