// The real process in development mode: with no DYNAMODB_ENDPOINT it runs an embedded DynamoDB Local
// under LOCAL_DATA_DIR, whose java process must die with the server however the server dies.
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import t, { type Test } from 'tap'
import { readLocalStore } from '../src/local-store-file.js'
import type { Env } from './helper.js'
import { CHILD_ENV_BASE } from './helpers/child-env.js'
import { goneWithin, pidsWith, portClosedWithin, ROOT, startServer, waitReady, within, type Running } from './helpers/server-process.js'

t.test('development without DYNAMODB_ENDPOINT: embedded DynamoDB Local that dies with the server', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oauth-refresher-dev-'))
  const dbPath = join(dataDir, 'dynamodb')
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  // HOST unset: the development default.
  const env: Env = { LOCAL_DATA_DIR: dataDir, LOG_LEVEL: 'info', HOST: undefined }

  // First start: SIGKILL the server, the kernel kills java (pdeathsig).
  const first = await startServer(t, env)
  const readyMs = await waitReady(first, 90_000)
  t.pass(`first start ready in ${readyMs} ms`)
  await checkOutput(t, first, dataDir)
  t.equal(pidsWith(dbPath).length, 1, 'one java process on this data dir')
  const secretsFile = join(dataDir, 'dev-secrets.json')
  t.equal(statSync(secretsFile).mode & 0o777, 0o600, 'secrets file is private')
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>
  t.same(Object.keys(secrets).sort(), ['COOKIE_SECRET', 'CRON_SECRET', 'INTERNAL_API_KEY', 'TOKEN_ENCRYPTION_KEY'])
  // No platform credentials: the sandbox serves them (docs/sandbox.md), here on http://localhost:<PORT>.
  const consent = new URL(`http://127.0.0.1:${first.port}/sandbox/reddit/api/v1/authorize`)
  for (const [name, value] of Object.entries({ client_id: 'sandbox-reddit-client', redirect_uri: `http://localhost:${first.port}/api/auth/reddit/callback`, response_type: 'code', state: 's' })) consent.searchParams.set(name, value)
  const page = await fetch(consent)
  t.equal(page.status, 200, 'the sandbox consent page is served')
  t.match(await page.text(), '<button name="decision" value="allow">Allow</button>')

  // The embedded store's endpoint is published for the ops CLI, which finds it with no DYNAMODB_ENDPOINT.
  t.equal(statSync(join(dataDir, 'local-store.json')).mode & 0o777, 0o600, 'local-store.json is private')
  const published = readLocalStore(dataDir)
  t.match(published, { store: { endpoint: /^http:\/\/127\.0\.0\.1:\d+$/, pid: first.child.pid }, live: true })
  const ops = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/ops.ts', 'lock', 'status'], {
    cwd: ROOT,
    env: { ...CHILD_ENV_BASE, LOCAL_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 30_000
  })
  t.equal(ops.status, 0, ops.stderr)
  t.match(ops.stdout, /^table: huntaze-oauth-tokens\nlock: free\n/, 'ops lock status reached the store npm start runs')
  t.match(ops.stderr, `at ${published?.store.endpoint ?? '?'}`, 'and said which one')

  first.child.kill('SIGKILL')
  await first.exited
  t.ok(await goneWithin(dbPath, 5_000), 'java is gone after the server was SIGKILLed')
  t.equal(readLocalStore(dataDir)?.live, false, 'the file a SIGKILL left behind reads as stale')
  for (const value of Object.values(secrets)) t.notOk(first.output().stdout.includes(value), 'no generated secret printed')

  // Second start on the same data, through `npm start`: the same secrets, and Ctrl-C (SIGINT to the
  // whole process group: npm forwards it too, so the server gets it twice) stops both cleanly.
  const second = await startServer(t, env, 'npm')
  t.pass(`second start ready in ${await waitReady(second, 90_000)} ms`)
  t.same(JSON.parse(readFileSync(secretsFile, 'utf8')), secrets, 'secrets reused, not regenerated')
  process.kill(-(second.child.pid ?? 0), 'SIGINT')
  t.same(await within(second.exited, 15_000, 'exit after Ctrl-C'), { code: 0, signal: null })
  t.ok(await goneWithin(dbPath, 3_000), 'no java left after Ctrl-C')
  t.equal(readLocalStore(dataDir), undefined, 'a clean stop withdraws the published endpoint')
  t.notMatch(second.output().stderr, /second/, 'the doubled Ctrl-C is one shutdown, not an abort')
  t.ok(await portClosedWithin(second.port, 3_000), 'the server is gone')
})

/** What a developer sees: readable log lines, loopback only, and a banner that says what to do next. */
async function checkOutput (t: Test, server: Running, dataDir: string): Promise<void> {
  const base = `http://localhost:${server.port}`
  const banner = await within((async () => {
    while (!server.output().stdout.includes('  docs: ')) await new Promise((resolve) => setTimeout(resolve, 50))
    return server.output().stdout
  })(), 10_000, 'the banner')
  const lines = banner.split('\n')
  const at = lines.findIndex((l) => l.startsWith('oauth-refresher is ready: '))
  t.same(lines.slice(at, at + 5), [
    `oauth-refresher is ready: ${base} (development, this machine only)`,
    `  next: open ${base}/dev (development sign-in and console; docs/dev-console.md)`,
    `  cron: curl -H "x-cron-secret: $(node -p "require('${join(dataDir, 'dev-secrets.json')}').CRON_SECRET")" ${base}/api/cron/refresh-oauth`,
    '  ops:  npm run ops -- lock status (it finds this store by itself)',
    '  docs: README.md, docs/; stop with Ctrl-C'
  ], 'the banner: where it serves and the next steps')

  // The printed command reads the secret when it runs (bash, as pasted), and it is the one cron takes.
  const expression = /x-cron-secret: (\$\(node -p .*\))" /.exec(lines[at + 2] ?? '')?.[1] ?? ''
  const read = spawnSync('bash', ['-c', `printf %s "${expression}"`], { cwd: ROOT, env: CHILD_ENV_BASE, encoding: 'utf8' })
  const secret = (JSON.parse(readFileSync(join(dataDir, 'dev-secrets.json'), 'utf8')) as { CRON_SECRET: string }).CRON_SECRET
  t.equal(read.stdout, secret, 'the command substitution yields the development CRON_SECRET')
  const res = await fetch(`http://127.0.0.1:${server.port}/api/cron/refresh-oauth?wait=true`, { headers: { 'x-cron-secret': read.stdout } })
  t.equal(res.status, 200, 'and the cron route accepts it')
  t.notOk(server.output().stdout.includes(secret) || server.output().stderr.includes(secret), 'the secret itself is never printed')

  // pino-pretty: one readable line per event, no JSON documents.
  const stdout = server.output().stdout
  t.match(stdout, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: table ready /m, 'pretty log lines')
  t.notMatch(stdout, /^\{"level"/m, 'no JSON log line in development')

  // Loopback only: the listening line names 127.0.0.1 alone, and another interface of this machine refuses.
  t.match(stdout, `INFO: Server listening at http://127.0.0.1:${server.port}\n`)
  t.notMatch(stdout, /Server listening at http:\/\/(?!127\.0\.0\.1:)/, 'no other address')
  const external = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (external !== undefined) {
    const reached = await fetch(`http://${external.address}:${server.port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false)
    t.notOk(reached, `not reachable on ${external.address}`)
  }
}
