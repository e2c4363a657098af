// Configuration: one JSON schema for the environment (config/env-schema.ts, a platform's variables in
// config/platform-env.ts), one typed Config out of it, the rules across variables in config/checks.ts.
// loadConfig(env) reads only the object it is given; one error names every bad variable, never a value.
import type { TObject } from '@sinclair/typebox'
import { checkPlainKeys, checkProductionIdentity, checkProductionTransport, checkSecrets, checkWebhook, parseTrustProxy, secretBearingUrlVars } from './config/checks.js'
import { envSchema } from './config/env-schema.js'
import { platformConfig, type EnvReader, type Findings } from './config/platform-env.js'
import { splitList } from './config/schema-types.js'
import type { PlatformConfig, PlatformSpec } from './platforms/platform.js'
import { PLATFORM_SPECS, type PlatformName } from './platforms/registry.js'
import { kmsRegion } from './keys/kms-params.js'
import { parseEncryptionKeys, type KeyEntry } from './store/crypto.js'

/** The environment's schema with the registry's platforms (.env.example and the docs table come from it). */
export const ENV_SCHEMA: TObject = envSchema(PLATFORM_SPECS).schema

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test'
  readonly port: number
  readonly host: string
  readonly logLevel: string
  /** Fastify's trustProxy: false (unset), a hop count, or the proxies' addresses/CIDRs. */
  readonly trustProxy: false | number | readonly string[]
  readonly aws: { readonly region: string, readonly dynamodbEndpoint?: string | undefined }
  /** How long start-up keeps trying a DynamoDB endpoint that does not answer yet. */
  readonly storeWaitMs: number
  readonly tokensTable: string
  /** Empty: the cron route answers 503 cron_disabled. */
  readonly cronSecrets: readonly string[]
  /** Empty: the internal token route refuses every caller. */
  readonly internalApiKeys: readonly string[]
  readonly cookieSecret: string
  /** As configured: plain keys and KMS-wrapped ones (unwrapped at start-up by src/keys/unwrap-keys.ts). */
  readonly encryptionKeys: readonly KeyEntry[]
  /** KMS for the wrapped entries: `keyId` is TOKEN_KMS_KEY_ID; the region is the key ARN's, else AWS_REGION. */
  readonly kms: { readonly region: string, readonly keyId?: string | undefined, readonly endpoint?: string | undefined }
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
    /** PROVIDER_BUDGET_WAIT_MS. */
    readonly providerBudgetWaitMs: number
    /** REFRESH_PARTS: 1 = one instance runs the whole pass. */
    readonly refreshParts: number
    readonly internalForceCooldownMs: number
    readonly needsReauthRetentionDays: number
    /** Derived, here once: interval + run budget, the time a token waits between two runs at worst (due.ts). */
    readonly lapseMarginMs: number
    /** Derived: how long a per-token claim lasts (claimLeaseMs()). */
    readonly claimLeaseMs: number
    /** Derived: how long the cron lock's lease lasts (lockLeaseMs()). */
    readonly lockLeaseMs: number
  }
  /** `secrets` are the whsec_ strings as configured (a receiver verifies with the same string). */
  /** The provider API proxy's caps (bytes). */
  readonly proxy: { readonly maxBodyBytes: number, readonly maxAnswerBytes: number }
  readonly reauthWebhook: { readonly url?: string | undefined, readonly secrets: readonly string[] }
  readonly platforms: Readonly<Record<PlatformName, PlatformConfig>>
  /** The development sandbox (docs/sandbox.md): never enabled in production. */
  readonly sandbox: {
    readonly enabled: boolean
    /** The configured platforms the development environment pointed at the sandbox (src/sandbox/sandbox-env.ts). */
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

export interface LoadConfigOptions {
  /**
   * The platforms the development environment pointed at the sandbox (prepareDevEnvironment, or
   * sandboxEnv in tests). Kept only outside production, with SANDBOX not off, if configured.
   */
  readonly sandboxed?: readonly string[] | undefined
  /** The platforms' specs, the registry's unless given (a test's extra platform module). */
  readonly platforms?: readonly PlatformSpec[] | undefined
}

/** Builds the typed configuration from `env` alone (tests pass objects, the server passes process.env). */
export function loadConfig (env: Readonly<Record<string, string | undefined>>, options: LoadConfigOptions = {}): Config {
  const specs = options.platforms ?? PLATFORM_SPECS
  const schema = envSchema(specs)
  const { raw, setNames, problems } = validate(env, schema)
  const str = (name: string): string | undefined => typeof raw[name] === 'string' ? raw[name] : undefined
  const num = (name: string): number => Number(raw[name])
  const production = raw.NODE_ENV === 'production'
  const warnings: string[] = []

  const encryptionKeys = readEncryptionKeys(str('TOKEN_ENCRYPTION_KEY'), problems)
  if (production) checkProductionIdentity(str, problems)
  const trustProxy = parseTrustProxy(str('TRUST_PROXY'), problems)
  const runBudgetMs = num('REFRESH_RUN_BUDGET_MS')
  const intervalMs = num('REFRESH_INTERVAL_MS')
  const lapseMarginMs = intervalMs + runBudgetMs
  const findings: Findings = { problems, warnings, setNames }
  const reader: EnvReader = { str, num }
  const platforms = Object.fromEntries(specs.map((spec) => [spec.name, platformConfig(spec, reader, lapseMarginMs, findings)])) as Record<PlatformName, PlatformConfig>
  const cronSecrets = splitList(str('CRON_SECRET'))
  const internalApiKeys = splitList(str('INTERNAL_API_KEY'))
  checkSecrets({ cronSecrets, internalApiKeys, cookieSecret: str('COOKIE_SECRET') ?? '', encryptionKeys }, production, problems, warnings)
  checkPlainKeys(encryptionKeys, production, warnings)
  if (production) checkProductionTransport(str, setNames, secretBearingUrlVars(Object.keys(schema.schema.properties)), problems)
  if (cronSecrets.some((s) => internalApiKeys.includes(s))) problems.set('INTERNAL_API_KEY', 'must differ from every CRON_SECRET')
  const webhookUrl = str('REAUTH_WEBHOOK_URL')
  const webhookSecrets = splitList(str('REAUTH_WEBHOOK_SECRET'))
  checkWebhook(webhookUrl, webhookSecrets, raw.NODE_ENV === 'development', problems)
  if (problems.size > 0) throw new ConfigError(problems)

  // The sandbox never outside development; only platforms that ended up configured.
  const sandboxOn = !production && raw.SANDBOX !== 'off'
  const sandboxed = sandboxOn ? (options.sandboxed ?? []).filter((name) => platforms[name as PlatformName]?.configured === true) as PlatformName[] : []
  return {
    nodeEnv: raw.NODE_ENV as Config['nodeEnv'],
    port: num('PORT'),
    host: str('HOST') ?? (production ? '0.0.0.0' : '127.0.0.1'),
    logLevel: String(raw.LOG_LEVEL),
    trustProxy,
    aws: { region: String(raw.AWS_REGION), dynamodbEndpoint: str('DYNAMODB_ENDPOINT') },
    storeWaitMs: num('STORE_WAIT_MS'),
    tokensTable: String(raw.TOKENS_TABLE),
    cronSecrets,
    internalApiKeys,
    cookieSecret: String(raw.COOKIE_SECRET),
    encryptionKeys,
    kms: { region: kmsRegion(String(raw.AWS_REGION), str('TOKEN_KMS_KEY_ID')), keyId: str('TOKEN_KMS_KEY_ID'), endpoint: str('KMS_ENDPOINT') },
    appUrl: String(raw.APP_URL).replace(/\/+$/, ''),
    cognito: { userPoolId: str('COGNITO_USER_POOL_ID'), clientId: str('COGNITO_CLIENT_ID'), issuer: str('COGNITO_ISSUER'), jwksUrl: str('COGNITO_JWKS_URL') },
    run: {
      responseBudgetMs: num('CRON_RESPONSE_BUDGET_MS'),
      runBudgetMs,
      intervalMs,
      providerTimeoutMs: num('PROVIDER_TIMEOUT_MS'),
      providerUserAgent: str('PROVIDER_USER_AGENT'),
      tokenMinTtlMs: num('TOKEN_MIN_TTL_MS'),
      providerBudgetWaitMs: num('PROVIDER_BUDGET_WAIT_MS'),
      refreshParts: num('REFRESH_PARTS'),
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

/** The schema's pass over the variables it knows: what is set (empty strings are unset), defaults filled, problems by name. */
function validate (env: Readonly<Record<string, string | undefined>>, { schema, validate, describe }: ReturnType<typeof envSchema>): { raw: Record<string, unknown>, setNames: string[], problems: Map<string, string> } {
  const known = new Set(Object.keys(schema.properties))
  // `FOO=` in an env file must not become a value.
  const raw: Record<string, unknown> = Object.fromEntries(Object.entries(env).filter(([name, value]) => known.has(name) && value !== undefined && value !== ''))
  // What the environment itself sets, before the schema fills in defaults.
  const setNames = Object.keys(raw)
  const problems = new Map<string, string>()
  if (!validate(raw)) {
    for (const error of validate.errors ?? []) {
      const name = error.instancePath.slice(1) || String(error.params.missingProperty ?? '')
      if (!problems.has(name)) problems.set(name, error.params.missingProperty === undefined ? describe(name, error.message) : 'required')
    }
  }
  return { raw, setNames, problems }
}

function readEncryptionKeys (value: string | undefined, problems: Map<string, string>): KeyEntry[] {
  if (problems.has('TOKEN_ENCRYPTION_KEY') || value === undefined) return []
  try {
    return parseEncryptionKeys(value)
  } catch (err) {
    problems.set('TOKEN_ENCRYPTION_KEY', (err as Error).message)
    return []
  }
}
