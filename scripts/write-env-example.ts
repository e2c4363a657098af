// Writes .env.example from ENV_SCHEMA (src/config.ts): every variable with its one-line description and
// default. `-- --check` only says whether the file is current; `-- --readme` prints the README table.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ENV_SCHEMA } from '../src/config.js'

export const ENV_EXAMPLE_PATH = fileURLToPath(new URL('../.env.example', import.meta.url))

interface VarDoc { readonly name: string, readonly description: string, readonly defaultValue?: string, readonly required: boolean }

export function envVariables (): VarDoc[] {
  const required = new Set(ENV_SCHEMA.required ?? [])
  return Object.entries(ENV_SCHEMA.properties as Record<string, { description?: string, default?: unknown }>).map(([name, schema]) => ({
    name,
    description: schema.description ?? '',
    ...(schema.default === undefined ? {} : { defaultValue: String(schema.default) }),
    required: required.has(name) && schema.default === undefined
  }))
}

export function renderEnvExample (): string {
  const lines = [
    '# oauth-refresher: every environment variable the service reads, one comment each.',
    '# Generated from ENV_SCHEMA in src/config.ts (`node --import tsx scripts/write-env-example.ts`); do not edit by hand.',
    '# Uncommented lines are required (outside production `npm start` generates them under LOCAL_DATA_DIR, default .data/);',
    '# production also requires COGNITO_CLIENT_ID and COGNITO_USER_POOL_ID (or COGNITO_ISSUER).',
    '# Commented lines show the default; an empty value counts as unset.'
  ]
  let section = ''
  for (const v of envVariables()) {
    const platform = /^(INSTAGRAM|TIKTOK|REDDIT|THREADS)_/.exec(v.name)?.[1] ?? 'SERVICE'
    if (platform !== section) {
      section = platform
      lines.push('', `# ---- ${platform === 'SERVICE' ? 'service' : platform.toLowerCase()} ----`)
    }
    lines.push(`# ${v.description}`)
    lines.push(v.required ? `${v.name}=` : `# ${v.name}=${v.defaultValue ?? ''}`)
  }
  return `${lines.join('\n')}\n`
}

export function renderReadmeTable (): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|')
  const rows = envVariables().map((v) => `| \`${v.name}\` | ${v.required ? 'required' : v.defaultValue === undefined ? '—' : `\`${cell(v.defaultValue)}\``} | ${cell(v.description)} |`)
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--readme')) {
    process.stdout.write(`${renderReadmeTable()}\n`)
  } else if (process.argv.includes('--check')) {
    let current = ''
    try { current = readFileSync(ENV_EXAMPLE_PATH, 'utf8') } catch {}
    if (current !== renderEnvExample()) {
      process.stderr.write('.env.example is out of date: run `node --import tsx scripts/write-env-example.ts`\n')
      process.exit(1)
    }
  } else {
    writeFileSync(ENV_EXAMPLE_PATH, renderEnvExample())
    process.stdout.write(`wrote ${ENV_EXAMPLE_PATH}\n`)
  }
}
