// Which platforms the sandbox serves (sandboxEnv before loadConfig, as the development start-up does),
// and production's refusals: the variables are a ConfigError, the plugin is never there (404).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { prepareDevEnvironment } from '../../src/dev-environment.js'
import { redditSpec } from '../../src/platforms/reddit.js'
import { sandboxEnv, sandboxPlatformEnv } from '../../src/sandbox/sandbox-env.js'
import { buildApp, testEnv, type Env } from '../helper.js'

const BASE = 'http://localhost:3000'
const PRODUCTION: Env = { NODE_ENV: 'production', COGNITO_ISSUER: 'http://127.0.0.1:9229/local_x', COGNITO_CLIENT_ID: 'client' }

function configError (t: Test, env: Env): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    t.type(err, ConfigError)
    return err as ConfigError
  }
  t.fail('expected a ConfigError')
  return new ConfigError(new Map())
}

t.test('sandboxEnv fills the platforms with neither client id nor secret, and only those', async (t) => {
  const input: Env = { NODE_ENV: 'development', PORT: '3000', REDDIT_CLIENT_ID: 'real-id', REDDIT_CLIENT_SECRET: 'real-secret', REDDIT_REDIRECT_URI: 'https://x.test/cb', TIKTOK_TOKEN_URL: 'http://leftover.test/token' }
  const before = { ...input }
  const { env, filled, sandboxed } = sandboxEnv(input)
  t.same(input, before, 'a pure function: its input is not changed')
  t.equal(env.REDDIT_CLIENT_ID, 'real-id', 'a configured platform is left alone')
  t.equal(env.REDDIT_TOKEN_URL, undefined)
  t.equal(env.TIKTOK_CLIENT_KEY, 'sandbox-tiktok-client')
  t.equal(env.TIKTOK_REDIRECT_URI, `${BASE}/api/auth/tiktok/callback`)
  t.equal(env.TIKTOK_TOKEN_URL, `${BASE}/sandbox/tiktok/v2/oauth/token/`, 'a leftover URL of an unconfigured platform is replaced')
  t.equal(env.INSTAGRAM_EXCHANGE_URL, `${BASE}/sandbox/instagram/access_token`)
  t.equal(env.THREADS_USERINFO_URL, `${BASE}/sandbox/threads/v1.0/me`)
  t.notOk(filled.some((name) => name.startsWith('REDDIT_')))
  t.ok(filled.includes('TIKTOK_CLIENT_SECRET'))
  t.equal(sandboxEnv({ NODE_ENV: 'development', PORT: '4100' }).env.REDDIT_AUTHORIZE_URL, 'http://localhost:4100/sandbox/reddit/api/v1/authorize', 'base from PORT')
  t.equal(sandboxEnv({ SANDBOX_BASE_URL: 'http://dev.local:8080/' }).env.REDDIT_REDIRECT_URI, 'http://dev.local:8080/api/auth/reddit/callback', 'SANDBOX_BASE_URL wins')

  const config = loadConfig(testEnv({ ...env, APP_URL: 'https://app.example.test' }), { sandboxed })
  t.same([...config.sandbox.platforms].sort(), ['instagram', 'threads', 'tiktok'])
  t.equal(config.sandbox.enabled, true)
  t.equal(config.platforms.tiktok.configured, true, 'the sandboxed platform is configured like any other')
})

t.test('npm start (prepareDevEnvironment) turns the sandbox on for the platforms without credentials', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oauth-refresher-sandbox-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const dev = await prepareDevEnvironment({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', PORT: '3100', THREADS_CLIENT_ID: 'real', THREADS_CLIENT_SECRET: 'real-secret', THREADS_REDIRECT_URI: 'https://x.test/cb' }, dataDir)
  t.ok(dev.filled.includes('REDDIT_CLIENT_ID') && dev.filled.includes('INSTAGRAM_REFRESH_URL'), 'named in what was filled')
  const config = loadConfig(dev.env, { sandboxed: dev.sandboxed })
  t.same([...config.sandbox.platforms].sort(), ['instagram', 'reddit', 'tiktok'])
  t.equal(config.platforms.reddit.urls.refresh, 'http://localhost:3100/sandbox/reddit/api/v1/access_token')
  t.equal(config.platforms.threads.clientId, 'real')
  const off = await prepareDevEnvironment({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', SANDBOX: 'off' }, dataDir)
  t.notOk(off.filled.some((name) => name.startsWith('REDDIT_')), 'SANDBOX=off: nothing filled')
  t.equal(loadConfig(off.env).platforms.reddit.configured, false)
})

t.test('SANDBOX=off, or production: sandboxEnv fills nothing and the sandbox is off', async (t) => {
  for (const env of [{ NODE_ENV: 'development', SANDBOX: 'off' }, { NODE_ENV: 'production' }]) {
    const out = sandboxEnv(env)
    t.same(out.filled, [])
    t.same(out.env, env)
  }
  const config = loadConfig(testEnv({ SANDBOX: 'off', ...sandboxPlatformEnv(redditSpec, BASE) }), { sandboxed: ['reddit'] })
  t.same(config.sandbox, { enabled: false, platforms: [], tokenLifetimeSec: 600 }, 'URLs pointed at the sandbox by hand, but SANDBOX=off')
  t.equal(loadConfig(testEnv()).sandbox.enabled, false, 'nothing sandboxed: the sandbox is off')
  t.equal(loadConfig(testEnv({ SANDBOX_TOKEN_LIFETIME_SEC: '30', ...sandboxPlatformEnv(redditSpec, BASE) })).sandbox.tokenLifetimeSec, 30)
})

t.test('production: SANDBOX other than off is a ConfigError naming it', async (t) => {
  const err = configError(t, testEnv({ ...PRODUCTION, SANDBOX: 'auto' }))
  t.same(err.variables, ['SANDBOX'])
  t.match(err.message, /SANDBOX \(refused in production/)
  t.match(configError(t, testEnv({ ...PRODUCTION, SANDBOX: 'on' })).variables, ['SANDBOX'])
  t.equal(loadConfig(testEnv({ ...PRODUCTION, SANDBOX: 'off' })).sandbox.enabled, false, 'off is accepted')
})

t.test('production: SANDBOX_TOKEN_LIFETIME_SEC or SANDBOX_BASE_URL is a ConfigError naming it', async (t) => {
  t.same(configError(t, testEnv({ ...PRODUCTION, SANDBOX_TOKEN_LIFETIME_SEC: '60' })).variables, ['SANDBOX_TOKEN_LIFETIME_SEC'])
  const base = configError(t, testEnv({ ...PRODUCTION, SANDBOX_BASE_URL: 'https://svc.example.com' }))
  t.same(base.variables, ['SANDBOX_BASE_URL'])
  t.match(base.message, /SANDBOX_BASE_URL \(refused in production \(development sandbox only\)\)/)
})

t.test('production app: no sandbox, /sandbox/* is 404 even with URLs pointed at it', async (t) => {
  const config = loadConfig(testEnv({ ...PRODUCTION, ...sandboxPlatformEnv(redditSpec, 'http://127.0.0.1:3000') }), { sandboxed: ['reddit'] })
  t.equal(config.platforms.reddit.configured, true)
  t.same(config.sandbox, { enabled: false, platforms: [], tokenLifetimeSec: 600 })
  const app = await buildApp(t, { config })
  const res = await app.inject({ method: 'GET', url: '/sandbox/reddit/api/v1/authorize?client_id=sandbox-reddit-client&response_type=code' })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { ok: false, error: 'not_found' })
  t.equal((await app.inject({ method: 'POST', url: '/sandbox/reddit/fail-next', payload: 'kind=timeout', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode, 404)
})
