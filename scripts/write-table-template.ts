// Writes infra/oauth-tokens-table.json (CloudFormation) from the one table definition in
// src/store/table.ts. `npm run infra:table` rewrites it; `-- --check` only says whether it is current.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { cloudFormationTemplate } from '../src/store/table.js'

export const TEMPLATE_PATH = fileURLToPath(new URL('../infra/oauth-tokens-table.json', import.meta.url))

export function renderTemplate (): string {
  return `${JSON.stringify(cloudFormationTemplate(), null, 2)}\n`
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const wanted = renderTemplate()
  if (process.argv.includes('--check')) {
    let current = ''
    try { current = readFileSync(TEMPLATE_PATH, 'utf8') } catch {}
    if (current !== wanted) {
      process.stderr.write(`${TEMPLATE_PATH} is out of date: run \`npm run infra:table\`\n`)
      process.exit(1)
    }
    process.stdout.write(`${TEMPLATE_PATH} is current\n`)
  } else {
    writeFileSync(TEMPLATE_PATH, wanted)
    process.stdout.write(`wrote ${TEMPLATE_PATH}\n`)
  }
}
