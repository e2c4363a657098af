// The environment's JSON schema: the service's own variables (here) and every platform's (from its
// spec, platform-env.ts). Each `description` is the one-line documentation of its variable:
// .env.example and docs/configuration.md's table are generated from it (scripts/write-env-example.ts).
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import AjvModule from 'ajv'
import type { ValidateFunction } from 'ajv'
import type { PlatformSpec } from '../platforms/platform.js'
import { DEFAULT_TABLE_NAME } from '../store/table.js'
import { platformSchema } from './platform-env.js'
import { Enum, HttpUrl, Int, Str } from './schema-types.js'

const Ajv = AjvModule.default

// A key or alias ARN, alias/<name>, or a key id (a UUID, a multi-Region mrk-… id, or a stand-in's own
// id): the forms KMS's KeyId accepts. Loose on purpose for ids: KMS, not this pattern, says which exist.
const KMS_KEY_ID_PATTERN = '^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+|alias/[A-Za-z0-9/_-]+|[A-Za-z0-9-]{1,256})$'

const SERVICE_SCHEMA = {
  NODE_ENV: Enum(['development', 'production', 'test'], 'development', 'production: no embedded store, no generated secrets, Cognito required'),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP port to listen on' }),
  HOST: Type.Optional(Type.String({ minLength: 1, description: 'interface to listen on (default 127.0.0.1 outside production, so a development server is not on the network; 0.0.0.0 in production; the image and compose set 0.0.0.0)' })),
  TRUST_PROXY: Type.Optional(Str('proxies in front of the service whose X-Forwarded-For is believed: a hop count (1 behind one load balancer or Amplify) or comma-separated addresses/CIDRs (loopback, uniquelocal as proxy-addr names them); unset = none')),
  LOG_LEVEL: Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', 'pino log level'),
  AWS_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'AWS region of the DynamoDB table (and of KMS, unless TOKEN_KMS_KEY_ID is an ARN)' }),
  DYNAMODB_ENDPOINT: Type.Optional(HttpUrl('DynamoDB endpoint (DynamoDB Local, compose); unset = AWS itself, or the embedded DynamoDB Local under `npm start` outside production')),
  TOKENS_TABLE: Type.String({ minLength: 3, maxLength: 255, pattern: '^[A-Za-z0-9_.-]+$', default: DEFAULT_TABLE_NAME, description: 'DynamoDB table name' }),
  STORE_WAIT_MS: Int(30_000, 'at start, how long to keep trying a DynamoDB endpoint that does not answer yet (DYNAMODB_ENDPOINT: compose, DynamoDB Local), with backoff and one log line per attempt, before failing', 0),
  LOCAL_DATA_DIR: Type.Optional(Str('outside production only: directory for the embedded DynamoDB Local data and the generated development secrets (default .data)')),
  CRON_SECRET: Type.Optional(Type.String({ description: 'comma-separated secrets accepted by the cron routes (x-cron-secret or Bearer); unset = cron answers 503 cron_disabled' })),
  INTERNAL_API_KEY: Type.Optional(Type.String({ description: 'comma-separated Bearer keys of the internal token route; unset = that route refuses everyone; must differ from CRON_SECRET' })),
  COOKIE_SECRET: Type.String({ minLength: 32, description: 'signs the OAuth state cookie (32+ characters)' }),
  TOKEN_ENCRYPTION_KEY: Str('keyId:base64(32 bytes) or keyId:kms:base64(KMS CiphertextBlob), comma-separated: AES-256-GCM keys for tokens at rest; the first writes, all read (rotation); kms entries are unwrapped with KMS Decrypt at start-up (docs/runbook.md)'),
  TOKEN_KMS_KEY_ID: Type.Optional(Type.String({ pattern: KMS_KEY_ID_PATTERN, description: 'the KMS key (id, ARN, alias/name or alias ARN) that wraps the kms entries of TOKEN_ENCRYPTION_KEY: Decrypt accepts only its blobs; required by `npm run ops -- keys new`; an ARN also sets the KMS region' })),
  KMS_ENDPOINT: Type.Optional(HttpUrl('KMS endpoint for tests and local stand-ins; unset = AWS KMS in the key\'s region')),
  APP_URL: HttpUrl('the frontend origin the connect flow redirects back to'),
  COGNITO_USER_POOL_ID: Type.Optional(Type.String({ pattern: '^[\\w-]+_[0-9a-zA-Z]+$', description: 'Cognito user pool id (region_id) whose JWTs identify users; required in production unless COGNITO_ISSUER is set' })),
  COGNITO_CLIENT_ID: Type.Optional(Str('Cognito app client id the JWTs must be issued for; required in production')),
  COGNITO_ISSUER: Type.Optional(HttpUrl('another JWT issuer instead of the user pool (tests, a local Cognito emulator)')),
  COGNITO_JWKS_URL: Type.Optional(HttpUrl('JWKS URL of COGNITO_ISSUER (default <issuer>/.well-known/jwks.json)')),
  CRON_RESPONSE_BUDGET_MS: Int(4_000, 'the cron call answers after this long at most; the run goes on in the background'),
  REFRESH_RUN_BUDGET_MS: Int(240_000, 'longest a refresh run may last', 1_000),
  REFRESH_INTERVAL_MS: Int(30 * 60_000, 'how often the schedulers call the cron route (for the lapse rule)', 60_000),
  PROVIDER_TIMEOUT_MS: Int(10_000, 'timeout of each provider HTTP call', 100),
  PROVIDER_BUDGET_WAIT_MS: Int(2_000, 'a call on use (internal route, proxy, connect, disconnect) waits this long at most for room in the provider budget before it answers with Retry-After'),
  REFRESH_PARTS: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'each platform\'s due tokens are split into this many parts, each under its own lease, so several instances refresh one pass in parallel (1: one instance runs the whole pass)' }),
  PROVIDER_USER_AGENT: Type.Optional(Str('User-Agent of every provider call; Reddit asks for <platform>:<app id>:<version> (by /u/<username>) (default node:oauth-refresher:v0.1.0 (token refresh service))')),
  TOKEN_MIN_TTL_MS: Int(5 * 60_000, 'the internal route refreshes a token expiring sooner than this first'),
  INTERNAL_FORCE_COOLDOWN_MS: Int(30_000, 'the internal route refreshes a token on ?force=true at most once within this (per token, across instances)'),
  PROXY_MAX_BODY_BYTES: Int(1_048_576, 'the provider API proxy refuses a larger request body with 413 (streamed, counted as it arrives)', 1),
  PROXY_MAX_ANSWER_BYTES: Int(5_242_880, 'the provider API proxy answers 502 upstream_too_large for a larger provider answer (cut while streaming when the provider declared no length)', 1),
  NEEDS_REAUTH_RETENTION_DAYS: Int(30, 'days a needs_reauth connection is kept before its DynamoDB TTL deletes it', 1),
  REAUTH_WEBHOOK_URL: Type.Optional(HttpUrl('receives the connection events (needs_reauth, recovered, disconnected, refresh_failing) as Standard Webhooks; https outside development (loopback excepted); unset = no events')),
  REAUTH_WEBHOOK_SECRET: Type.Optional(Str('whsec_<base64>[,whsec_…]: signing secrets of the webhooks, one signature per secret (rotation); required with REAUTH_WEBHOOK_URL')),
  // Read by the OpenTelemetry SDK itself (src/telemetry/), before this schema runs; here so a bad value
  // stops the start-up like any other, and for the documentation. The other OTEL_* variables apply as
  // the SDK defines them (docs/observability.md).
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(HttpUrl('OTLP/HTTP collector base URL (the SDK appends /v1/traces); set = traces are exported (docs/observability.md); unset = no tracing SDK starts')),
  OTEL_EXPORTER_OTLP_PROTOCOL: Enum(['http/protobuf', 'http/json'], 'http/protobuf', 'encoding of the OTLP/HTTP exports'),
  OTEL_SERVICE_NAME: Type.Optional(Str('service.name of the exported traces (default oauth-refresher)')),
  SANDBOX: Enum(['auto', 'off'], 'auto', 'outside production only: auto = `npm start` serves every platform without client id and secret from the built-in sandbox providers (/sandbox/<platform>, docs/sandbox.md); off = never. Refused in production unless off'),
  SANDBOX_TOKEN_LIFETIME_SEC: Int(600, 'outside production only: expires_in of the access tokens the sandbox issues (refused in production)', 1),
  SANDBOX_BASE_URL: Type.Optional(HttpUrl('outside production only: the service as the browser reaches it, for the sandbox URLs and redirect URIs (default http://localhost:<PORT>; refused in production)'))
} satisfies Record<string, TSchema>

/** The schema and its compiled validator, for one list of platforms. */
export interface EnvSchema {
  readonly schema: TObject
  readonly validate: ValidateFunction
  /** Ajv's words for a bad variable, except for a choice of values (which it calls "must be equal to constant"). */
  describe (name: string, message: string | undefined): string
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false })
ajv.addFormat('uri', (value: string) => URL.canParse(value))

// One compiled schema per list of platforms (the registry's, or a test's with extra modules): the
// lists are long-lived constants, so the cache stays as small as the number of lists.
const compiled = new WeakMap<readonly PlatformSpec[], EnvSchema>()

export function envSchema (specs: readonly PlatformSpec[]): EnvSchema {
  const known = compiled.get(specs)
  if (known !== undefined) return known
  const schema = Type.Object({ ...SERVICE_SCHEMA, ...Object.assign({}, ...specs.map(platformSchema)) })
  const properties = schema.properties as Record<string, { anyOf?: Array<{ const?: unknown }> }>
  const made: EnvSchema = {
    schema,
    validate: ajv.compile(schema),
    describe (name, message) {
      const choices = properties[name]?.anyOf?.map((s) => s.const).filter((c) => typeof c === 'string')
      if (choices !== undefined && choices.length > 0) return `must be one of ${choices.join(', ')}`
      return message ?? 'invalid'
    }
  }
  compiled.set(specs, made)
  return made
}
