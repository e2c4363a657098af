// The real process in development mode: with no DYNAMODB_ENDPOINT it runs an embedded DynamoDB Local
// under LOCAL_DATA_DIR, whose java process must die with the server however the server dies.
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { readLocalStore } from '../src/local-store-file.js'
import type { Env } from './helper.js'
import { CHILD_ENV_BASE } from './helpers/child-env.js'
import { goneWithin, pidsWith, portClosedWithin, ROOT, startServer, waitReady, within } from './helpers/server-process.js'

t.test('development without DYNAMODB_ENDPOINT: embedded DynamoDB Local that dies with the server', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oauth-refresher-dev-'))
  const dbPath = join(dataDir, 'dynamodb')
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env: Env = { LOCAL_DATA_DIR: dataDir, LOG_LEVEL: 'info' }

  // First start: SIGKILL the server, the kernel kills java (pdeathsig).
  const first = await startServer(t, env)
  const readyMs = await waitReady(first, 90_000)
  t.pass(`first start ready in ${readyMs} ms`)
  t.equal(pidsWith(dbPath).length, 1, 'one java process on this data dir')
  const secretsFile = join(dataDir, 'dev-secrets.json')
  t.equal(statSync(secretsFile).mode & 0o777, 0o600, 'secrets file is private')
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>
  t.same(Object.keys(secrets).sort(), ['COOKIE_SECRET', 'CRON_SECRET', 'INTERNAL_API_KEY', 'TOKEN_ENCRYPTION_KEY'])

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
