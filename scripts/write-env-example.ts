// Writes .env.example and the table of docs/configuration.md from ENV_SCHEMA (src/config.ts): every
// variable with its one-line description and default. `-- --check` only says whether both are current;
// `-- --table` (or the older `-- --readme`) prints the table.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ENV_SCHEMA } from '../src/config.js'

export const ENV_EXAMPLE_PATH = fileURLToPath(new URL('../.env.example', import.meta.url))
export const CONFIG_DOC_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url))
// The table sits between these lines in docs/configuration.md; the prose around it is written by hand.
export const TABLE_BEGIN = '<!-- begin: generated from ENV_SCHEMA by scripts/write-env-example.ts; do not edit by hand -->'
export const TABLE_END = '<!-- end: generated table -->'

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

export function renderConfigTable (): string {
  // `<issuer>` would be read as an HTML tag by Markdown renderers.
  const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('<', '&lt;')
  const rows = envVariables().map((v) => `| \`${v.name}\` | ${v.required ? 'required' : v.defaultValue === undefined ? '—' : `\`${cell(v.defaultValue)}\``} | ${cell(v.description)} |`)
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** `doc` with the current table between its markers (the markers must be there, once each). */
export function withConfigTable (doc: string): string {
  const begin = doc.indexOf(TABLE_BEGIN)
  const end = doc.indexOf(TABLE_END)
  if (begin === -1 || end < begin) throw new Error(`docs/configuration.md has lost its table markers (${TABLE_BEGIN} … ${TABLE_END})`)
  return `${doc.slice(0, begin + TABLE_BEGIN.length)}\n${renderConfigTable()}\n${doc.slice(end)}`
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--table') || process.argv.includes('--readme')) {
    process.stdout.write(`${renderConfigTable()}\n`)
  } else if (process.argv.includes('--check')) {
    const read = (path: string): string => { try { return readFileSync(path, 'utf8') } catch { return '' } }
    const stale = [
      ...(read(ENV_EXAMPLE_PATH) === renderEnvExample() ? [] : ['.env.example']),
      ...(read(CONFIG_DOC_PATH) === withConfigTable(read(CONFIG_DOC_PATH)) ? [] : ['docs/configuration.md'])
    ]
    if (stale.length > 0) {
      process.stderr.write(`${stale.join(' and ')} out of date: run \`node --import tsx scripts/write-env-example.ts\`\n`)
      process.exit(1)
    }
  } else {
    writeFileSync(ENV_EXAMPLE_PATH, renderEnvExample())
    writeFileSync(CONFIG_DOC_PATH, withConfigTable(readFileSync(CONFIG_DOC_PATH, 'utf8')))
    process.stdout.write(`wrote ${ENV_EXAMPLE_PATH} and the table of ${CONFIG_DOC_PATH}\n`)
  }
}
