// loadConfig: one error naming every bad variable and no value, defaults, not_configured platforms,
// the lapse rule, production rules, encryption keys and secret lists; .env.example covers ENV_SCHEMA.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { ConfigError, ENV_SCHEMA, loadConfig } from '../src/config.js'
import { PLATFORM_SPECS } from '../src/platforms/registry.js'
import { secretWeakness, unpredictableChars } from '../src/secret-strength.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import { renderConfigTable, renderEnvExample, TABLE_BEGIN, TABLE_END, withConfigTable } from '../scripts/write-env-example.js'
import { testEnv, type Env } from './helper.js'

function configError (t: Test, env: Env): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError')
    t.notOk(String((err as Error).message).includes('\n'), 'one line')
    return err as ConfigError
  }
  throw new Error('loadConfig accepted a bad configuration')
}

t.test('one ConfigError names every bad variable at once and echoes no value', async (t) => {
  const canaries: Env = {
    PORT: 'CANARY-port',
    LOG_LEVEL: 'CANARY-level',
    NODE_ENV: 'CANARY-env',
    APP_URL: 'CANARY-not-a-url',
    COOKIE_SECRET: 'CANARY-short',
    TOKEN_ENCRYPTION_KEY: 'k1:CANARY-key-material',
    DYNAMODB_ENDPOINT: 'CANARY:endpoint',
    TOKENS_TABLE: 'CANARY table!',
    REFRESH_RUN_BUDGET_MS: '-5',
    REDDIT_TOKEN_URL: 'ftp://CANARY.example',
    TIKTOK_REFRESH_CONCURRENCY: '0',
    COGNITO_USER_POOL_ID: 'CANARY pool'
  }
  const err = configError(t, testEnv(canaries))
  t.same([...err.variables].sort(), Object.keys(canaries).sort(), 'every bad variable, and only those')
  for (const name of Object.keys(canaries)) t.ok(err.message.includes(name), `names ${name}`)
  t.notOk(err.message.includes('CANARY'), 'no value echoed')
  t.match(err.message, /^Invalid configuration: /)
  t.match(err.message, /LOG_LEVEL \(must be one of fatal, error, warn, info, debug, trace, silent\)/)
  t.match(err.message, /NODE_ENV \(must be one of development, production, test\)/)
})

t.test('missing required variables are named as required', async (t) => {
  const err = configError(t, testEnv({ COOKIE_SECRET: undefined, TOKEN_ENCRYPTION_KEY: '', APP_URL: undefined }))
  t.same([...err.variables].sort(), ['APP_URL', 'COOKIE_SECRET', 'TOKEN_ENCRYPTION_KEY'])
  t.match(err.message, /TOKEN_ENCRYPTION_KEY \(required\)/)
})

t.test('loadConfig reads only what it is given, with the documented defaults', async (t) => {
  const env = testEnv({ NODE_ENV: undefined, LOG_LEVEL: undefined, AWS_REGION: undefined, TOKENS_TABLE: undefined, DYNAMODB_ENDPOINT: undefined })
  process.env.PORT = '4321'
  t.teardown(() => { delete process.env.PORT })
  const config = loadConfig(env)
  t.match(config, {
    nodeEnv: 'development',
    port: 3000,
    host: '127.0.0.1',
    logLevel: 'info',
    aws: { region: 'us-east-1', dynamodbEndpoint: undefined },
    tokensTable: 'huntaze-oauth-tokens',
    appUrl: 'https://app.example.test',
    run: { responseBudgetMs: 4_000, runBudgetMs: 240_000, intervalMs: 1_800_000, providerTimeoutMs: 10_000, tokenMinTtlMs: 300_000, internalForceCooldownMs: 30_000, needsReauthRetentionDays: 30 }
  })
  t.equal(loadConfig({ ...env, APP_URL: 'https://app.example.test///' }).appUrl, 'https://app.example.test', 'trailing slashes dropped')
  t.equal(loadConfig({ ...env, PORT: '8080', CRON_RESPONSE_BUDGET_MS: '1500' }).port, 8080, 'numbers coerced')
  t.equal(loadConfig({ ...env, PORT: '' }).port, 3000, 'an empty value is unset')
})

t.test('HOST: loopback outside production, every interface in production, what is set otherwise', async (t) => {
  const prod = { NODE_ENV: 'production', COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client' }
  t.equal(loadConfig(testEnv({ NODE_ENV: 'development' })).host, '127.0.0.1', 'a development server is not on the network')
  t.equal(loadConfig(testEnv({ NODE_ENV: 'test' })).host, '127.0.0.1')
  t.equal(loadConfig(testEnv(prod)).host, '0.0.0.0', 'production listens where its load balancer reaches it')
  t.equal(loadConfig(testEnv({ NODE_ENV: 'development', HOST: '0.0.0.0' })).host, '0.0.0.0', 'a container sets it')
  t.equal(loadConfig(testEnv({ ...prod, HOST: '10.0.0.5' })).host, '10.0.0.5')
})

t.test('provider URLs default to the real endpoints and can be overridden', async (t) => {
  const config = loadConfig(testEnv())
  t.same(config.platforms.reddit.urls, {
    authorize: 'https://www.reddit.com/api/v1/authorize',
    token: 'https://www.reddit.com/api/v1/access_token',
    refresh: 'https://www.reddit.com/api/v1/access_token',
    revoke: 'https://www.reddit.com/api/v1/revoke_token',
    userinfo: 'https://oauth.reddit.com/api/v1/me',
    api: 'https://oauth.reddit.com'
  })
  t.same(PLATFORM_SPECS.map((spec) => [spec.name, config.platforms[spec.name].urls.api]), [
    ['instagram', 'https://graph.instagram.com'], ['tiktok', 'https://open.tiktokapis.com'], ['reddit', 'https://oauth.reddit.com'], ['threads', 'https://graph.threads.net']
  ], 'the proxy\'s API bases (<P>_API_URL)')
  t.equal(loadConfig(testEnv({ THREADS_API_URL: 'http://127.0.0.1:9999/graph' })).platforms.threads.urls.api, 'http://127.0.0.1:9999/graph')
  t.match(config.proxy, { maxBodyBytes: 1_048_576, maxAnswerBytes: 5_242_880 })
  t.match(config.platforms.tiktok.urls, { authorize: 'https://www.tiktok.com/v2/auth/authorize/', token: 'https://open.tiktokapis.com/v2/oauth/token/', revoke: 'https://open.tiktokapis.com/v2/oauth/revoke/' })
  t.match(config.platforms.instagram.urls, { token: 'https://api.instagram.com/oauth/access_token', exchange: 'https://graph.instagram.com/access_token', refresh: 'https://graph.instagram.com/refresh_access_token' })
  t.equal(config.platforms.instagram.urls.revoke, undefined, 'Instagram has no revocation endpoint')
  for (const platform of Object.values(config.platforms)) {
    for (const url of Object.values(platform.urls)) if (url !== undefined) t.match(url, /^https:\/\//, `${platform.name} ${url} is https`)
  }
  const overridden = loadConfig(testEnv({ REDDIT_TOKEN_URL: 'http://127.0.0.1:9999/token', INSTAGRAM_EXCHANGE_URL: 'http://127.0.0.1:9999/x' }))
  t.equal(overridden.platforms.reddit.urls.token, 'http://127.0.0.1:9999/token')
  t.equal(overridden.platforms.reddit.urls.refresh, 'https://www.reddit.com/api/v1/access_token', 'only the named URL changes')
  t.equal(overridden.platforms.instagram.urls.exchange, 'http://127.0.0.1:9999/x')
  t.notOk('TIKTOK_EXCHANGE_URL' in ENV_SCHEMA.properties, 'no exchange URL where there is no exchange')
})

t.test('a platform without credentials is not configured; a full set configures it', async (t) => {
  const config = loadConfig(testEnv())
  for (const spec of PLATFORM_SPECS) t.equal(config.platforms[spec.name].configured, false, `${spec.name} not configured`)
  const tiktok = loadConfig(testEnv({
    TIKTOK_CLIENT_KEY: 'key', TIKTOK_CLIENT_SECRET: 'secret', TIKTOK_REDIRECT_URI: 'https://app.example.test/api/auth/tiktok/callback', TIKTOK_SCOPES: 'user.info.basic video.list,  video.upload'
  })).platforms.tiktok
  t.match(tiktok, { configured: true, clientId: 'key', clientSecret: 'secret', scopes: ['user.info.basic', 'video.list', 'video.upload'] })
  t.same(config.platforms.reddit.scopes, ['identity'], 'default scopes')
})

t.test('half a set of credentials is an error naming the missing ones', async (t) => {
  const err = configError(t, testEnv({ REDDIT_CLIENT_ID: 'CANARY-id', TIKTOK_CLIENT_SECRET: 'CANARY-secret', TIKTOK_REDIRECT_URI: 'https://x.test/cb' }))
  t.same([...err.variables].sort(), ['REDDIT_CLIENT_SECRET', 'REDDIT_REDIRECT_URI', 'TIKTOK_CLIENT_KEY'])
  t.notOk(err.message.includes('CANARY'))
})

t.test('not_configured: no client id and no secret, whatever else of the platform is set; a warning names the leftovers', async (t) => {
  const config = loadConfig(testEnv({
    REDDIT_REDIRECT_URI: 'https://app.example.test/api/auth/reddit/callback',
    REDDIT_TOKEN_URL: 'http://127.0.0.1:9/token',
    REDDIT_SCOPES: 'identity,CANARY-scope',
    TIKTOK_CLIENT_SECRET: undefined
  }))
  t.equal(config.platforms.reddit.configured, false, 'reddit not_configured, not an error')
  const warning = config.warnings.find((w) => w.startsWith('reddit: not_configured'))
  t.ok(warning, 'a start-up warning')
  t.match(warning, /REDDIT_REDIRECT_URI, REDDIT_SCOPES, REDDIT_TOKEN_URL$/, 'naming each leftover variable, in order')
  t.notOk(warning?.includes('CANARY'), 'never a value')
  t.notOk(warning?.includes('REDDIT_REFRESH_WINDOW_MS'), 'a default is not a leftover')
  t.notOk(config.warnings.some((w) => w.startsWith('tiktok: not_configured')), 'a platform with nothing set: no warning')
  t.equal(loadConfig(testEnv({ TIKTOK_CLIENT_KEY: '' })).platforms.tiktok.configured, false, 'an empty value counts as unset')
})

t.test('one of client id and secret without the other stays a configuration error', async (t) => {
  for (const [env, missing] of [
    [{ REDDIT_CLIENT_ID: 'id', REDDIT_REDIRECT_URI: 'https://x.test/cb' }, ['REDDIT_CLIENT_SECRET']],
    [{ REDDIT_CLIENT_SECRET: 'CANARY-secret', REDDIT_REDIRECT_URI: 'https://x.test/cb' }, ['REDDIT_CLIENT_ID']],
    [{ TIKTOK_CLIENT_KEY: 'key', TIKTOK_CLIENT_SECRET: 'CANARY-secret' }, ['TIKTOK_REDIRECT_URI']]
  ] as const) {
    const err = configError(t, testEnv(env))
    t.same([...err.variables], missing)
    t.notOk(err.message.includes('CANARY'))
  }
})

t.test('webhooks: whsec_ secrets (several), required with the URL, https outside development except loopback', async (t) => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
  const other = `whsec_${Buffer.alloc(24, 9).toString('base64')}`
  const config = loadConfig(testEnv({ REAUTH_WEBHOOK_URL: 'https://platform.example.test/hooks', REAUTH_WEBHOOK_SECRET: `${secret}, ${other}` }))
  t.same(config.reauthWebhook, { url: 'https://platform.example.test/hooks', secrets: [secret, other] })
  t.same(loadConfig(testEnv()).reauthWebhook, { url: undefined, secrets: [] }, 'unset: no events')
  for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
    t.equal(loadConfig(testEnv({ REAUTH_WEBHOOK_URL: `http://${host}:8080/hooks`, REAUTH_WEBHOOK_SECRET: secret })).reauthWebhook.url, `http://${host}:8080/hooks`, `loopback ${host}`)
  }
  t.equal(loadConfig(testEnv({ NODE_ENV: 'development', REAUTH_WEBHOOK_URL: 'http://receiver.internal/hooks', REAUTH_WEBHOOK_SECRET: secret })).reauthWebhook.url, 'http://receiver.internal/hooks', 'development: http allowed')
  for (const [env, names] of [
    [{ REAUTH_WEBHOOK_URL: 'http://platform.example.test/hooks', REAUTH_WEBHOOK_SECRET: secret }, ['REAUTH_WEBHOOK_URL']],
    [{ REAUTH_WEBHOOK_URL: 'https://platform.example.test/hooks' }, ['REAUTH_WEBHOOK_SECRET']],
    [{ REAUTH_WEBHOOK_URL: 'https://platform.example.test/hooks', REAUTH_WEBHOOK_SECRET: 'CANARY-not-whsec' }, ['REAUTH_WEBHOOK_SECRET']],
    [{ REAUTH_WEBHOOK_URL: 'https://platform.example.test/hooks', REAUTH_WEBHOOK_SECRET: 'whsec_CANARY' }, ['REAUTH_WEBHOOK_SECRET']],
    [{ REAUTH_WEBHOOK_URL: 'https://platform.example.test/hooks', REAUTH_WEBHOOK_SECRET: `${secret},whsec_!!CANARY!!` }, ['REAUTH_WEBHOOK_SECRET']]
  ] as const) {
    const err = configError(t, testEnv(env))
    t.same([...err.variables], names)
    t.notOk(err.message.includes('CANARY'), 'no value echoed')
  }
})

t.test('the lapse rule: a window shorter than interval + run budget is raised, with a warning naming the platform', async (t) => {
  const config = loadConfig(testEnv())
  // Defaults never warn: reddit's default window is the lapse margin itself (30 min schedule + 4 min budget).
  t.equal(config.platforms.reddit.refreshWindowMs, 34 * 60_000)
  t.equal(config.platforms.tiktok.refreshWindowMs, 12 * 3_600_000, 'a long enough window is kept')
  t.equal(config.platforms.instagram.refreshWindowMs, 7 * 86_400_000)
  t.same(config.warnings.filter((w) => w.includes('window')), [], 'no window warning with the defaults')

  // The runbook's reddit window (20 min), set by an operator: raised to 34 min, and said so.
  const runbook = loadConfig(testEnv({ REDDIT_REFRESH_WINDOW_MS: String(20 * 60_000) }))
  t.equal(runbook.platforms.reddit.refreshWindowMs, 34 * 60_000)
  t.equal(runbook.warnings.filter((w) => w.includes('window')).length, 1)
  t.match(runbook.warnings.find((w) => w.includes('window')), /^reddit: refresh window 1200000 ms is shorter than/)

  const quiet = loadConfig(testEnv({ REDDIT_REFRESH_WINDOW_MS: String(40 * 60_000) }))
  t.equal(quiet.platforms.reddit.refreshWindowMs, 40 * 60_000)
  t.same(quiet.warnings.filter((w) => w.includes('window')), [])

  const tight = loadConfig(testEnv({ REFRESH_INTERVAL_MS: String(12 * 3_600_000), REFRESH_RUN_BUDGET_MS: '60000' }))
  t.equal(tight.platforms.tiktok.refreshWindowMs, 12 * 3_600_000 + 60_000)
  t.ok(tight.warnings.some((w) => w.startsWith('tiktok: ')), 'tiktok named')
  t.ok(tight.warnings.some((w) => w.startsWith('reddit: ')), 'reddit named')
})

t.test('production requires Cognito (a user pool or an issuer, and a client id)', async (t) => {
  const err = configError(t, testEnv({ NODE_ENV: 'production' }))
  t.same([...err.variables].sort(), ['COGNITO_CLIENT_ID', 'COGNITO_USER_POOL_ID'])
  const pool = loadConfig(testEnv({ NODE_ENV: 'production', COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client' }))
  t.match(pool, { nodeEnv: 'production', cognito: { userPoolId: 'eu-west-1_AbC123', clientId: 'client' } })
  const issuer = loadConfig(testEnv({ NODE_ENV: 'production', COGNITO_ISSUER: 'http://127.0.0.1:9229/local_x', COGNITO_CLIENT_ID: 'client' }))
  t.equal(issuer.cognito.issuer, 'http://127.0.0.1:9229/local_x')
  t.match(loadConfig(testEnv()), { cognito: { userPoolId: undefined, clientId: undefined } }, 'optional outside production')
})

t.test('TOKEN_ENCRYPTION_KEY: wrong length, not base64, duplicate id, empty — each named, never quoted', async (t) => {
  const material = generateEncryptionKey('x').slice(2)
  const bad: Array<[string, RegExp]> = [
    [`k1:${Buffer.alloc(24, 1).toString('base64')}`, /24 bytes, not 32/],
    ['k1:CANARY*not*base64', /not base64/],
    [`k1:${material},k1:${material}`, /used twice/],
    [',', /no key given/],
    [material, /keyId/]
  ]
  for (const [value, why] of bad) {
    const err = configError(t, testEnv({ TOKEN_ENCRYPTION_KEY: value }))
    t.same(err.variables, ['TOKEN_ENCRYPTION_KEY'])
    t.match(err.message, why)
    t.notOk(err.message.includes(material) || err.message.includes('CANARY'), 'no key material')
  }
  const rotated = loadConfig(testEnv({ TOKEN_ENCRYPTION_KEY: `new:${material}, old:${material}` }))
  t.same(rotated.encryptionKeys.map((k) => k.id), ['new', 'old'])
})

t.test('CRON_SECRET and INTERNAL_API_KEY are comma lists; short ones warn; a shared one is an error', async (t) => {
  const config = loadConfig(testEnv({ CRON_SECRET: ' first-secret-0123456789abcdefghij, ,second-secret-0123456789abcdefghi ,', INTERNAL_API_KEY: 'internal-a-0123456789abcdefghijkl,internal-b-0123456789abcdefghijkl' }))
  t.same(config.cronSecrets, ['first-secret-0123456789abcdefghij', 'second-secret-0123456789abcdefghi'])
  t.same(config.internalApiKeys, ['internal-a-0123456789abcdefghijkl', 'internal-b-0123456789abcdefghijkl'])
  t.same(config.warnings.filter((w) => w.includes('shorter than 32')), [])
  const none = loadConfig(testEnv({ CRON_SECRET: undefined, INTERNAL_API_KEY: '' }))
  t.same(none.cronSecrets, [])
  t.same(none.internalApiKeys, [])
  const short = loadConfig(testEnv({ CRON_SECRET: 'CANARY-short', INTERNAL_API_KEY: 'short' }))
  t.equal(short.warnings.filter((w) => w.includes('shorter than 32')).length, 2)
  t.notOk(short.warnings.join(' ').includes('CANARY'))
  const err = configError(t, testEnv({ CRON_SECRET: 'shared-secret-CANARY-1234,other-0123456789abc', INTERNAL_API_KEY: 'shared-secret-CANARY-1234' }))
  t.same(err.variables, ['INTERNAL_API_KEY'])
  t.notOk(err.message.includes('CANARY'))
})

t.test('.env.example lists exactly the variables of ENV_SCHEMA, each with a comment', async (t) => {
  const text = readFileSync(new URL('../.env.example', import.meta.url), 'utf8')
  const lines = text.split('\n')
  const listed: string[] = []
  for (const [i, line] of lines.entries()) {
    const name = /^(?:#\s*)?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]
    if (name === undefined) continue
    listed.push(name)
    const previous = lines[i - 1] ?? ''
    t.ok(/^#\s*\S/.test(previous) && !/^(?:#\s*)?[A-Z][A-Z0-9_]*=/.test(previous), `${name} has a comment line`)
  }
  const schema = Object.keys(ENV_SCHEMA.properties)
  t.same(listed.filter((n) => !schema.includes(n)), [], 'nothing in .env.example that the schema does not read')
  t.same(schema.filter((n) => !listed.includes(n)), [], 'every schema variable in .env.example')
  t.equal(new Set(listed).size, listed.length, 'each listed once')
  t.equal(text, renderEnvExample(), '.env.example is current: run `node --import tsx scripts/write-env-example.ts`')
})

t.test("docs/configuration.md's table is the one generated from ENV_SCHEMA", async (t) => {
  const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8')
  t.equal(doc, withConfigTable(doc), 'docs/configuration.md is current: run `node --import tsx scripts/write-env-example.ts`')
  t.ok(doc.includes(`${TABLE_BEGIN}\n${renderConfigTable()}\n${TABLE_END}`), 'the table sits between its markers')
  for (const name of Object.keys(ENV_SCHEMA.properties)) t.ok(doc.includes(`| \`${name}\` |`), `${name} documented`)
  t.throws(() => withConfigTable('no markers'), /lost its table markers/)
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  t.match(readme, /\(docs\/configuration\.md\)/, 'the README points to it')
})

t.test('TRUST_PROXY: unset trusts no proxy; a hop count or addresses/CIDRs; anything else is named', async (t) => {
  t.equal(loadConfig(testEnv()).trustProxy, false)
  t.equal(loadConfig(testEnv({ TRUST_PROXY: '1' })).trustProxy, 1)
  t.same(loadConfig(testEnv({ TRUST_PROXY: '10.0.0.0/8, 172.16.0.0/12,loopback, ::1, fd00::/8' })).trustProxy, ['10.0.0.0/8', '172.16.0.0/12', 'loopback', '::1', 'fd00::/8'])
  for (const bad of ['true', 'CANARY', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129', ',']) {
    const err = configError(t, testEnv({ TRUST_PROXY: bad }))
    t.same(err.variables, ['TRUST_PROXY'], bad)
    t.notOk(err.message.includes('CANARY'))
  }
})

// Regression (issue 14): a one-character CRON_SECRET only warned and an all-zero key was accepted.
t.test('production refuses weak secrets and plain-http URLs in one error naming each, never a value', async (t) => {
  const prod = { NODE_ENV: 'production', COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client' }
  t.ok(loadConfig(testEnv({ ...prod, COOKIE_SECRET: randomBytes(32).toString('base64url'), CRON_SECRET: randomBytes(24).toString('base64url'), INTERNAL_API_KEY: randomBytes(24).toString('base64url') })), 'generated secrets pass')
  const zeroKey = `k1:${Buffer.alloc(32).toString('base64')}`
  const err = configError(t, testEnv({
    ...prod,
    CRON_SECRET: 'x',
    INTERNAL_API_KEY: 'CANARY'.repeat(6),
    COOKIE_SECRET: 'CANARY' + 'ab'.repeat(16),
    TOKEN_ENCRYPTION_KEY: zeroKey,
    APP_URL: 'http://huntaze.example',
    REDDIT_TOKEN_URL: 'http://reddit.example/token',
    REAUTH_WEBHOOK_URL: 'http://hooks.example/CANARY',
    REAUTH_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    COGNITO_ISSUER: 'http://issuer.example/pool'
  }))
  t.same([...err.variables].sort(), ['APP_URL', 'COGNITO_ISSUER', 'COOKIE_SECRET', 'CRON_SECRET', 'INTERNAL_API_KEY', 'REAUTH_WEBHOOK_URL', 'REDDIT_TOKEN_URL', 'TOKEN_ENCRYPTION_KEY'])
  t.match(err.message, /CRON_SECRET \(holds a secret shorter than 32 characters\)/)
  t.match(err.message, /INTERNAL_API_KEY \(holds a low-entropy secret/)
  t.match(err.message, /TOKEN_ENCRYPTION_KEY \(holds a key that is not random/)
  t.match(err.message, /APP_URL \(must be https:\/\/ in production/)
  t.notOk(err.message.includes('CANARY') || err.message.includes(zeroKey.slice(3)), 'no value echoed')
  // Loopback stays allowed (local emulators, fakes), and the same weak values only warn outside production.
  t.ok(loadConfig(testEnv({ ...prod, APP_URL: 'http://localhost:3000', REDDIT_TOKEN_URL: 'http://127.0.0.1:9/token', COGNITO_ISSUER: 'http://[::1]:9229/pool' })))
  const dev = loadConfig(testEnv({ CRON_SECRET: 'x', TOKEN_ENCRYPTION_KEY: zeroKey, APP_URL: 'http://huntaze.example' }))
  t.ok(dev.warnings.some((w) => w.startsWith('CRON_SECRET ')) && dev.warnings.some((w) => w.startsWith('TOKEN_ENCRYPTION_KEY ')), 'warned outside production')
})

// Security review (issue 18): length and distinct characters let sequences, repeats and words through.
t.test('production refuses predictable secrets: sequences, repeats, dictionary words', async (t) => {
  const prod = { NODE_ENV: 'production', COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client', COOKIE_SECRET: randomBytes(32).toString('base64url'), CRON_SECRET: randomBytes(24).toString('base64url') }
  for (const weak of [
    '0123456789'.repeat(4),
    'password1234567890password1234567890',
    'abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ',
    'qwertyuiopasdfghjklzxcvbnm-secret-2026',
    'internal-key-0123456789abcdef-012345',
    `${randomBytes(6).toString('hex')}`.repeat(3)
  ]) {
    t.ok(secretWeakness(weak) !== undefined, `weak: ${weak}`)
    const err = configError(t, testEnv({ ...prod, INTERNAL_API_KEY: weak }))
    t.same([...err.variables], ['INTERNAL_API_KEY'], weak)
    t.match(err.message, /INTERNAL_API_KEY \(holds a (predictable|low-entropy) secret/)
    t.notOk(err.message.includes(weak), 'not echoed')
  }
  // What generators make passes, every time (the check is not luck): base64url, base64 and hex keys.
  for (let i = 0; i < 500; i++) {
    for (const generated of [randomBytes(24).toString('base64url'), randomBytes(32).toString('base64'), randomBytes(32).toString('hex')]) {
      if (secretWeakness(generated) !== undefined) t.fail(`a generated secret was refused: ${secretWeakness(generated) ?? ''}`)
    }
  }
  t.ok(unpredictableChars(randomBytes(24).toString('base64url')) >= 20)
  t.equal(unpredictableChars('0123456789'.repeat(4)), 3, 'a run and two repeats')
  t.equal(unpredictableChars('password1234567890password1234567890'), 4, 'a word, a run, a digit, a repeat')
  // Outside production the same value is a warning, as every weak secret is.
  t.ok(loadConfig(testEnv({ INTERNAL_API_KEY: '0123456789'.repeat(4) })).warnings.some((w) => w.startsWith('INTERNAL_API_KEY ')))
})
