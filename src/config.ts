// Configuration: one JSON schema for the environment, one typed Config out of it.
// loadConfig(env) reads only the object it is given; one error names every bad variable, never a value.
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import AjvModule from 'ajv'
import { isIP } from 'node:net'
import { pointsAtDevIdentity } from './dev/identity-env.js'
import { parseEncryptionKeys, type EncryptionKey } from './store/crypto.js'
import { DEFAULT_TABLE_NAME } from './store/table.js'
import type { PlatformConfig, PlatformSpec, PlatformUrls } from './platforms/platform.js'
import { PLATFORM_SPECS, type PlatformName } from './platforms/registry.js'
import { sandboxedPlatforms } from './sandbox/sandbox-env.js'
import { isPlainHttpRemote, isWeakKey, secretWeakness } from './secret-strength.js'

const Ajv = AjvModule.default

const Int = (defaultValue: number, description: string, minimum = 0) => Type.Integer({ minimum, default: defaultValue, description })
const Str = (description: string) => Type.String({ minLength: 1, description })
const HttpUrl = (description: string) => Type.String({ format: 'uri', pattern: '^https?://', description })
const Enum = (values: readonly string[], defaultValue: string, description: string) =>
  Type.Union(values.map((v) => Type.Literal(v)), { default: defaultValue, description })
const GRANT_WINDOW_DEFAULT_MS = 7 * 24 * 60 * 60_000
const KEEPALIVE_DEFAULT_MS = 7 * 24 * 60 * 60_000
const URL_VARS = ['AUTHORIZE', 'TOKEN', 'REFRESH', 'REVOKE', 'USERINFO', 'EXCHANGE', 'API'] as const
const URL_KEYS: Record<typeof URL_VARS[number], keyof PlatformUrls> = {
  AUTHORIZE: 'authorize', TOKEN: 'token', REFRESH: 'refresh', REVOKE: 'revoke', USERINFO: 'userinfo', EXCHANGE: 'exchange', API: 'api'
}
const URL_MEANING: Record<typeof URL_VARS[number], string> = {
  AUTHORIZE: 'authorization page the browser is sent to',
  TOKEN: 'code exchange endpoint',
  REFRESH: 'refresh endpoint',
  REVOKE: 'revocation endpoint (used on disconnect)',
  USERINFO: 'account id / username endpoint',
  EXCHANGE: 'short-lived → long-lived token exchange endpoint',
  API: 'API base the proxy calls as the user (/api/internal/proxy: the path and query are appended)'
}

// Each `description` is the one-line documentation of the variable: .env.example and the README's
// configuration table are generated from it (`node --import tsx scripts/write-env-example.ts`).
const BASE_SCHEMA = {
  NODE_ENV: Enum(['development', 'production', 'test'], 'development', 'production: no embedded store, no generated secrets, Cognito required'),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP port to listen on' }),
  HOST: Type.Optional(Type.String({ minLength: 1, description: 'interface to listen on (default 127.0.0.1 outside production, so a development server is not on the network; 0.0.0.0 in production; the image and compose set 0.0.0.0)' })),
  TRUST_PROXY: Type.Optional(Str('proxies in front of the service whose X-Forwarded-For is believed: a hop count (1 behind one load balancer or Amplify) or comma-separated addresses/CIDRs (loopback, uniquelocal as proxy-addr names them); unset = none')),
  LOG_LEVEL: Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', 'pino log level'),
  AWS_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'AWS region of the DynamoDB table' }),
  DYNAMODB_ENDPOINT: Type.Optional(HttpUrl('DynamoDB endpoint (DynamoDB Local, compose); unset = AWS itself, or the embedded DynamoDB Local under `npm start` outside production')),
  TOKENS_TABLE: Type.String({ minLength: 3, maxLength: 255, pattern: '^[A-Za-z0-9_.-]+$', default: DEFAULT_TABLE_NAME, description: 'DynamoDB table name' }),
  LOCAL_DATA_DIR: Type.Optional(Str('outside production only: directory for the embedded DynamoDB Local data and the generated development secrets (default .data)')),
  CRON_SECRET: Type.Optional(Type.String({ description: 'comma-separated secrets accepted by the cron routes (x-cron-secret or Bearer); unset = cron answers 503 cron_disabled' })),
  INTERNAL_API_KEY: Type.Optional(Type.String({ description: 'comma-separated Bearer keys of the internal token route; unset = that route refuses everyone; must differ from CRON_SECRET' })),
  COOKIE_SECRET: Type.String({ minLength: 32, description: 'signs the OAuth state cookie (32+ characters)' }),
  TOKEN_ENCRYPTION_KEY: Str('keyId:base64(32 bytes)[,keyId:base64…]: AES-256-GCM keys for tokens at rest; the first writes, all read (rotation)'),
  APP_URL: HttpUrl('the frontend origin the connect flow redirects back to'),
  COGNITO_USER_POOL_ID: Type.Optional(Type.String({ pattern: '^[\\w-]+_[0-9a-zA-Z]+$', description: 'Cognito user pool id (region_id) whose JWTs identify users; required in production unless COGNITO_ISSUER is set' })),
  COGNITO_CLIENT_ID: Type.Optional(Str('Cognito app client id the JWTs must be issued for; required in production')),
  COGNITO_ISSUER: Type.Optional(HttpUrl('another JWT issuer instead of the user pool (tests, a local Cognito emulator)')),
  COGNITO_JWKS_URL: Type.Optional(HttpUrl('JWKS URL of COGNITO_ISSUER (default <issuer>/.well-known/jwks.json)')),
  CRON_RESPONSE_BUDGET_MS: Int(4_000, 'the cron call answers after this long at most; the run goes on in the background'),
  REFRESH_RUN_BUDGET_MS: Int(240_000, 'longest a refresh run may last', 1_000),
  REFRESH_INTERVAL_MS: Int(30 * 60_000, 'how often the schedulers call the cron route (for the lapse rule)', 60_000),
  PROVIDER_TIMEOUT_MS: Int(10_000, 'timeout of each provider HTTP call', 100),
  PROVIDER_USER_AGENT: Type.Optional(Str('User-Agent of every provider call; Reddit asks for <platform>:<app id>:<version> (by /u/<username>) (default node:oauth-refresher:v0.1.0 (token refresh service))')),
  TOKEN_MIN_TTL_MS: Int(5 * 60_000, 'the internal route refreshes a token expiring sooner than this first'),
  INTERNAL_FORCE_COOLDOWN_MS: Int(30_000, 'the internal route refreshes a token on ?force=true at most once within this (per token, across instances)'),
  PROXY_MAX_BODY_BYTES: Int(1_048_576, 'the provider API proxy refuses a larger request body with 413 (streamed, counted as it arrives)', 1),
  PROXY_MAX_ANSWER_BYTES: Int(5_242_880, 'the provider API proxy answers 502 upstream_too_large for a larger provider answer (cut while streaming when the provider declared no length)', 1),
  NEEDS_REAUTH_RETENTION_DAYS: Int(30, 'days a needs_reauth connection is kept before its DynamoDB TTL deletes it', 1),
  REAUTH_WEBHOOK_URL: Type.Optional(HttpUrl('receives the connection events (needs_reauth, recovered, disconnected, refresh_failing) as Standard Webhooks; https outside development (loopback excepted); unset = no events')),
  REAUTH_WEBHOOK_SECRET: Type.Optional(Str('whsec_<base64>[,whsec_…]: signing secrets of the webhooks, one signature per secret (rotation); required with REAUTH_WEBHOOK_URL')),
  SANDBOX: Enum(['auto', 'off'], 'auto', 'outside production only: auto = `npm start` serves every platform without client id and secret from the built-in sandbox providers (/sandbox/<platform>, docs/sandbox.md); off = never. Refused in production unless off'),
  SANDBOX_TOKEN_LIFETIME_SEC: Int(600, 'outside production only: expires_in of the access tokens the sandbox issues (refused in production)', 1),
  SANDBOX_BASE_URL: Type.Optional(HttpUrl('outside production only: the service as the browser reaches it, for the sandbox URLs and redirect URIs (default http://localhost:<PORT>; refused in production)'))
}

function platformSchema (spec: PlatformSpec): Record<string, TSchema> {
  const p = spec.envPrefix
  const schema: Record<string, TSchema> = {
    [spec.clientIdVar]: Type.Optional(Str(`${spec.name} OAuth client id; unset together with the secret = ${spec.name} not_configured (whatever else of it is set)`)),
    [`${p}_CLIENT_SECRET`]: Type.Optional(Str(`${spec.name} OAuth client secret`)),
    [`${p}_REDIRECT_URI`]: Type.Optional(HttpUrl(`${spec.name} callback URL registered with the provider (…/api/auth/${spec.name}/callback)`)),
    [`${p}_SCOPES`]: Type.Optional(Str(`${spec.name} scopes, comma- or space-separated (default ${spec.defaultScopes.join(',')})`)),
    [`${p}_REFRESH_WINDOW_MS`]: Int(spec.defaultRefreshWindowMs, `${spec.name} tokens expiring within this window are refreshed (raised to REFRESH_INTERVAL_MS + REFRESH_RUN_BUDGET_MS if shorter)`, 60_000),
    [`${p}_REFRESH_CONCURRENCY`]: Type.Integer({ minimum: 1, maximum: 64, default: spec.defaultRefreshConcurrency, description: `${spec.name} refreshes in flight at once` }),
    [`${p}_REFRESH_MODE`]: Enum(['eager', 'on_demand'], 'eager', spec.accessTokenIsGrant === true
      ? `eager: the cron refreshes tokens inside the window; on_demand: the same for ${spec.name} (its access token is the grant)`
      : 'eager: the cron refreshes tokens inside the window; on_demand: the cron only keeps grants alive, the internal route refreshes access tokens on use (docs/scale.md)'),
    [`${p}_GRANT_WINDOW_MS`]: Int(GRANT_WINDOW_DEFAULT_MS, `on_demand: the cron refreshes a ${spec.name} refresh token whose own expiry (refresh_expires_in) is this close`, 60_000),
    [`${p}_KEEPALIVE_MS`]: Int(KEEPALIVE_DEFAULT_MS, `on_demand: the cron refreshes a ${spec.name} grant not refreshed for this long, so a revocation is found early`, 60 * 60_000)
  }
  for (const name of URL_VARS) {
    // Only Instagram has a long-lived exchange; the other URL variables exist for every platform.
    if (name === 'EXCHANGE' && spec.defaultUrls.exchange === undefined) continue
    const real = spec.defaultUrls[URL_KEYS[name]]
    schema[`${p}_${name}_URL`] = Type.Optional(HttpUrl(`${spec.name} ${URL_MEANING[name]}${real === undefined ? ' (none by default)' : ` (default ${real})`}`))
  }
  if (spec.requestsPerMinute !== undefined) {
    schema[`${p}_REQUESTS_PER_MINUTE`] = Int(spec.requestsPerMinute, `${spec.name} provider calls a minute at most (the provider's published cap)`, 1)
  }
  return schema
}

export const ENV_SCHEMA: TObject = Type.Object({
  ...BASE_SCHEMA,
  ...Object.assign({}, ...PLATFORM_SPECS.map(platformSchema))
})

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test'
  readonly port: number
  readonly host: string
  readonly logLevel: string
  /** Fastify's trustProxy: false (unset), a hop count, or the proxies' addresses/CIDRs. */
  readonly trustProxy: false | number | readonly string[]
  readonly aws: { readonly region: string, readonly dynamodbEndpoint?: string | undefined }
  readonly tokensTable: string
  /** Empty: the cron route answers 503 cron_disabled. */
  readonly cronSecrets: readonly string[]
  /** Empty: the internal token route refuses every caller. */
  readonly internalApiKeys: readonly string[]
  readonly cookieSecret: string
  readonly encryptionKeys: readonly EncryptionKey[]
  readonly appUrl: string
  readonly cognito: {
    readonly userPoolId?: string | undefined
    readonly clientId?: string | undefined
    readonly issuer?: string | undefined
    readonly jwksUrl?: string | undefined
  }
  readonly run: {
    readonly responseBudgetMs: number
    readonly runBudgetMs: number
    readonly intervalMs: number
    readonly providerTimeoutMs: number
    /** Unset: provider-http's DEFAULT_USER_AGENT. */
    readonly providerUserAgent?: string | undefined
    readonly tokenMinTtlMs: number
    readonly internalForceCooldownMs: number
    readonly needsReauthRetentionDays: number
    /** Derived, here once: interval + run budget, the time a token waits between two runs at worst (due.ts). */
    readonly lapseMarginMs: number
    /** Derived: how long a per-token claim lasts (claimLeaseMs()). */
    readonly claimLeaseMs: number
    /** Derived: how long the cron lock's lease lasts (lockLeaseMs()). */
    readonly lockLeaseMs: number
  }
  /** The provider API proxy's caps (bytes). */
  readonly proxy: { readonly maxBodyBytes: number, readonly maxAnswerBytes: number }
  /** `secrets` are the whsec_ strings as configured (a receiver verifies with the same string). */
  readonly reauthWebhook: { readonly url?: string | undefined, readonly secrets: readonly string[] }
  readonly platforms: Readonly<Record<PlatformName, PlatformConfig>>
  /** The development sandbox (docs/sandbox.md): never enabled in production. */
  readonly sandbox: {
    readonly enabled: boolean
    /** The configured platforms whose URLs are the sandbox's (src/sandbox/sandbox-env.ts). */
    readonly platforms: readonly PlatformName[]
    readonly tokenLifetimeSec: number
  }
  /** Start-up warnings (lapse-prone windows, weak secrets): logged by the server, never values. */
  readonly warnings: readonly string[]
}

/** A claim outlasts the provider call (its timeout) three times over, so a slow answer is still ours. */
export function claimLeaseMs (providerTimeoutMs: number): number {
  return 3 * providerTimeoutMs
}

/** The lock's lease: the run budget, plus the time its last provider calls and writes may take, plus a margin. */
export function lockLeaseMs (runBudgetMs: number, providerTimeoutMs: number): number {
  return runBudgetMs + 3 * providerTimeoutMs + 30_000
}

export class ConfigError extends Error {
  readonly variables: readonly string[]
  constructor (problems: ReadonlyMap<string, string>) {
    super(`Invalid configuration: ${[...problems].map(([name, why]) => `${name} (${why})`).join('; ')}`)
    this.name = 'ConfigError'
    this.variables = [...problems.keys()]
  }
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false })
ajv.addFormat('uri', (value: string) => URL.canParse(value))
const validateEnv = ajv.compile(ENV_SCHEMA)

/** Ajv's words, except for a choice of values, which it would call "must be equal to constant". */
function describeError (name: string, message: string | undefined): string {
  const schema = (ENV_SCHEMA.properties as Record<string, { anyOf?: Array<{ const?: unknown }> }>)[name]
  const choices = schema?.anyOf?.map((s) => s.const).filter((c) => typeof c === 'string')
  if (choices !== undefined && choices.length > 0) return `must be one of ${choices.join(', ')}`
  return message ?? 'invalid'
}

const splitList = (value: string | undefined, separator = ','): string[] =>
  (value ?? '').split(separator).map((v) => v.trim()).filter((v) => v !== '')

/** Builds the typed configuration from `env` alone (tests pass objects, the server passes process.env). */
export function loadConfig (env: Readonly<Record<string, string | undefined>>): Config {
  const known = new Set(Object.keys(ENV_SCHEMA.properties))
  // Empty strings are unset: `FOO=` in an env file must not become a value.
  const raw: Record<string, unknown> = Object.fromEntries(
    Object.entries(env).filter(([name, value]) => known.has(name) && value !== undefined && value !== '')
  )
  // What the environment itself sets, before the schema fills in defaults.
  const setNames = Object.keys(raw)
  const problems = new Map<string, string>()
  if (!validateEnv(raw)) {
    for (const error of validateEnv.errors ?? []) {
      const name = error.instancePath.slice(1) || String(error.params.missingProperty ?? '')
      if (!problems.has(name)) problems.set(name, error.params.missingProperty === undefined ? describeError(name, error.message) : 'required')
    }
  }
  const str = (name: string): string | undefined => typeof raw[name] === 'string' ? raw[name] : undefined
  const num = (name: string): number => Number(raw[name])

  let encryptionKeys: EncryptionKey[] = []
  if (!problems.has('TOKEN_ENCRYPTION_KEY') && str('TOKEN_ENCRYPTION_KEY') !== undefined) {
    try {
      encryptionKeys = parseEncryptionKeys(str('TOKEN_ENCRYPTION_KEY') ?? '')
    } catch (err) {
      problems.set('TOKEN_ENCRYPTION_KEY', (err as Error).message)
    }
  }
  const production = raw.NODE_ENV === 'production'
  if (production) {
    if (str('COGNITO_CLIENT_ID') === undefined) problems.set('COGNITO_CLIENT_ID', 'required in production')
    if (str('COGNITO_USER_POOL_ID') === undefined && str('COGNITO_ISSUER') === undefined) {
      problems.set('COGNITO_USER_POOL_ID', 'required in production unless COGNITO_ISSUER is set')
    }
    // The development sign-in is not served in production; an issuer naming it is a copied dev env.
    for (const name of ['COGNITO_ISSUER', 'COGNITO_JWKS_URL']) {
      const value = str(name)
      if (value !== undefined && pointsAtDevIdentity(value)) problems.set(name, 'points at the development sign-in (/dev/identity), which production never serves')
    }
  }

  const trustProxy = parseTrustProxy(str('TRUST_PROXY'), problems)
  const warnings: string[] = []
  const runBudgetMs = num('REFRESH_RUN_BUDGET_MS')
  const intervalMs = num('REFRESH_INTERVAL_MS')
  const lapseMarginMs = intervalMs + runBudgetMs
  const platforms = Object.fromEntries(PLATFORM_SPECS.map((spec) => {
    const platform = platformConfig(spec, str, num, lapseMarginMs, problems, setNames, warnings)
    if (platform.refreshWindowMs > num(`${spec.envPrefix}_REFRESH_WINDOW_MS`)) {
      warnings.push(`${spec.name}: refresh window ${num(`${spec.envPrefix}_REFRESH_WINDOW_MS`)} ms is shorter than REFRESH_INTERVAL_MS + REFRESH_RUN_BUDGET_MS (${lapseMarginMs} ms); tokens could lapse between two runs, so the window is raised to ${platform.refreshWindowMs} ms`)
    }
    return [spec.name, platform]
  })) as Record<PlatformName, PlatformConfig>

  const cronSecrets = splitList(str('CRON_SECRET'))
  const internalApiKeys = splitList(str('INTERNAL_API_KEY'))
  // Weak secrets and plain-http endpoints: refused in production, warned about elsewhere.
  const weak = (name: string, why: string): void => {
    if (production) problems.set(name, why)
    else warnings.push(`${name} ${why}`)
  }
  for (const [name, secrets] of [['CRON_SECRET', cronSecrets], ['INTERNAL_API_KEY', internalApiKeys], ['COOKIE_SECRET', [str('COOKIE_SECRET') ?? '']]] as const) {
    if (problems.has(name)) continue
    const why = secrets.map(secretWeakness).find((w) => w !== undefined)
    if (why !== undefined) weak(name, why)
  }
  if (encryptionKeys.some((k) => isWeakKey(k.key))) weak('TOKEN_ENCRYPTION_KEY', 'holds a key that is not random (too few distinct bytes)')
  if (production) {
    // The sandbox's providers accept whatever client configuration names: never in production.
    if (setNames.includes('SANDBOX') && raw.SANDBOX !== 'off') problems.set('SANDBOX', 'refused in production (development sandbox); unset it or set off')
    for (const name of ['SANDBOX_TOKEN_LIFETIME_SEC', 'SANDBOX_BASE_URL']) {
      if (setNames.includes(name)) problems.set(name, 'refused in production (development sandbox only)')
    }
    // Loopback aside (local emulators, the fakes): tokens, codes and secrets never cross plain http.
    const urlVars = Object.keys(ENV_SCHEMA.properties).filter((name) => (name.endsWith('_URL') || name.endsWith('_URI') || name === 'COGNITO_ISSUER') && name !== 'DYNAMODB_ENDPOINT')
    for (const name of urlVars) {
      const value = str(name)
      if (!problems.has(name) && value !== undefined && isPlainHttpRemote(value)) problems.set(name, 'must be https:// in production (http only for loopback)')
    }
  }
  if (cronSecrets.some((s) => internalApiKeys.includes(s))) problems.set('INTERNAL_API_KEY', 'must differ from every CRON_SECRET')

  const webhookUrl = str('REAUTH_WEBHOOK_URL')
  const webhookSecrets = splitList(str('REAUTH_WEBHOOK_SECRET'))
  checkWebhook(webhookUrl, webhookSecrets, raw.NODE_ENV === 'development', problems)

  if (problems.size > 0) throw new ConfigError(problems)
  const sandboxed = production ? [] : sandboxedPlatforms(env).filter((name) => platforms[name].configured)

  return {
    nodeEnv: raw.NODE_ENV as Config['nodeEnv'],
    port: num('PORT'),
    host: str('HOST') ?? (production ? '0.0.0.0' : '127.0.0.1'),
    logLevel: String(raw.LOG_LEVEL),
    trustProxy,
    aws: { region: String(raw.AWS_REGION), dynamodbEndpoint: str('DYNAMODB_ENDPOINT') },
    tokensTable: String(raw.TOKENS_TABLE),
    cronSecrets,
    internalApiKeys,
    cookieSecret: String(raw.COOKIE_SECRET),
    encryptionKeys,
    appUrl: String(raw.APP_URL).replace(/\/+$/, ''),
    cognito: {
      userPoolId: str('COGNITO_USER_POOL_ID'),
      clientId: str('COGNITO_CLIENT_ID'),
      issuer: str('COGNITO_ISSUER'),
      jwksUrl: str('COGNITO_JWKS_URL')
    },
    run: {
      responseBudgetMs: num('CRON_RESPONSE_BUDGET_MS'),
      runBudgetMs,
      intervalMs,
      providerTimeoutMs: num('PROVIDER_TIMEOUT_MS'),
      providerUserAgent: str('PROVIDER_USER_AGENT'),
      tokenMinTtlMs: num('TOKEN_MIN_TTL_MS'),
      needsReauthRetentionDays: num('NEEDS_REAUTH_RETENTION_DAYS'),
      internalForceCooldownMs: num('INTERNAL_FORCE_COOLDOWN_MS'),
      lapseMarginMs,
      claimLeaseMs: claimLeaseMs(num('PROVIDER_TIMEOUT_MS')),
      lockLeaseMs: lockLeaseMs(runBudgetMs, num('PROVIDER_TIMEOUT_MS'))
    },
    proxy: { maxBodyBytes: num('PROXY_MAX_BODY_BYTES'), maxAnswerBytes: num('PROXY_MAX_ANSWER_BYTES') },
    reauthWebhook: { url: webhookUrl, secrets: webhookSecrets },
    platforms,
    sandbox: { enabled: sandboxed.length > 0, platforms: sandboxed, tokenLifetimeSec: num('SANDBOX_TOKEN_LIFETIME_SEC') },
    warnings
  }
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** TRUST_PROXY: a hop count, or addresses/CIDRs; never `true` (which believes any client's header). */
function parseTrustProxy (value: string | undefined, problems: Map<string, string>): false | number | string[] {
  if (value === undefined) return false
  if (/^\d{1,2}$/.test(value)) return Number(value)
  const entries = splitList(value)
  const valid = (entry: string): boolean => {
    if (PROXY_NAMES.has(entry)) return true
    const [address = '', bits, ...rest] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || rest.length > 0) return false
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
  }
  if (entries.length === 0 || !entries.every(valid)) {
    problems.set('TRUST_PROXY', 'must be a hop count or comma-separated IP addresses / CIDRs (loopback, linklocal, uniquelocal)')
    return false
  }
  return entries
}

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Standard Webhooks secrets (`whsec_` + base64 of 24 to 64 bytes) and an https URL outside development. */
function checkWebhook (url: string | undefined, secrets: readonly string[], development: boolean, problems: Map<string, string>): void {
  if (url !== undefined && !problems.has('REAUTH_WEBHOOK_URL')) {
    const { protocol, hostname } = new URL(url)
    if (protocol !== 'https:' && !development && !LOOPBACK.has(hostname)) problems.set('REAUTH_WEBHOOK_URL', 'must be https outside development (loopback hosts excepted)')
  }
  for (const secret of secrets) {
    const bytes = Buffer.from(WHSEC.exec(secret)?.[1] ?? '', 'base64').length
    if (bytes < 24 || bytes > 64) problems.set('REAUTH_WEBHOOK_SECRET', 'each secret must be whsec_ followed by the base64 of 24 to 64 bytes')
  }
  if (url !== undefined && secrets.length === 0) problems.set('REAUTH_WEBHOOK_SECRET', 'required with REAUTH_WEBHOOK_URL')
}

function platformConfig (
  spec: PlatformSpec, str: (name: string) => string | undefined, num: (name: string) => number,
  minWindowMs: number, problems: Map<string, string>, setNames: readonly string[], warnings: string[]
): PlatformConfig {
  const p = spec.envPrefix
  const clientId = str(spec.clientIdVar)
  const clientSecret = str(`${p}_CLIENT_SECRET`)
  const redirectUri = str(`${p}_REDIRECT_URI`)
  // Neither client id nor secret: `not_configured`, whatever else of the platform is set (a sandbox's
  // URLs, a scope list left behind); the leftovers are named in a start-up warning. One of the two
  // without the other, or both without the redirect URI, is a mistake worth stopping for.
  const configured = clientId !== undefined && clientSecret !== undefined
  if (clientId === undefined && clientSecret === undefined) {
    const leftovers = setNames.filter((name) => name.startsWith(`${p}_`) && name !== spec.clientIdVar).sort()
    if (leftovers.length > 0) warnings.push(`${spec.name}: not_configured (no ${spec.clientIdVar} and no ${p}_CLIENT_SECRET), so these are ignored: ${leftovers.join(', ')}`)
  } else {
    const credentials = [clientId, clientSecret, redirectUri]
    const missing = [spec.clientIdVar, `${p}_CLIENT_SECRET`, `${p}_REDIRECT_URI`].filter((_, i) => credentials[i] === undefined)
    for (const name of missing) problems.set(name, `required once any ${p} credential is set`)
  }
  const urls: Record<string, string | undefined> = { ...spec.defaultUrls }
  for (const name of URL_VARS) {
    const override = str(`${p}_${name}_URL`)
    if (override !== undefined) urls[URL_KEYS[name]] = override
  }
  const scopes = str(`${p}_SCOPES`)
  return {
    name: spec.name,
    configured: configured && redirectUri !== undefined,
    clientId: clientId ?? '',
    clientSecret: clientSecret ?? '',
    redirectUri: redirectUri ?? '',
    scopes: scopes === undefined ? spec.defaultScopes : splitList(scopes.replaceAll(' ', ',')),
    urls: urls as unknown as PlatformUrls,
    refreshWindowMs: Math.max(num(`${p}_REFRESH_WINDOW_MS`), minWindowMs),
    refreshConcurrency: num(`${p}_REFRESH_CONCURRENCY`),
    requestsPerMinute: spec.requestsPerMinute === undefined ? undefined : num(`${p}_REQUESTS_PER_MINUTE`),
    refreshMode: str(`${p}_REFRESH_MODE`) === 'on_demand' ? 'on_demand' : 'eager',
    grantWindowMs: num(`${p}_GRANT_WINDOW_MS`),
    keepaliveMs: num(`${p}_KEEPALIVE_MS`)
  }
}
