// `npm start` outside production: fill what a developer has not set — the embedded DynamoDB Local
// persisted under .data/ (or LOCAL_DATA_DIR), its endpoint published there for the ops CLI
// (local-store-file.ts), development secrets generated once there (mode 600, never printed), the
// sandbox providers for the platforms without credentials and, without any Cognito variable, the
// development sign-in (docs/sandbox.md, docs/dev-console.md).
// In production none of this runs: missing configuration is a start-up error.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { devBaseUrl, devIdentityEnv } from './dev/identity-env.js'
import { localDataDir, removeLocalStore, writeLocalStore } from './local-store-file.js'
import { sandboxEnv } from './sandbox/sandbox-env.js'
import { generateEncryptionKey } from './store/crypto.js'
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from './store/embedded-dynamodb.js'

type Env = Record<string, string | undefined>

const GENERATED = {
  COOKIE_SECRET: () => randomBytes(32).toString('base64url'),
  TOKEN_ENCRYPTION_KEY: () => generateEncryptionKey('dev1'),
  CRON_SECRET: () => randomBytes(24).toString('base64url'),
  INTERNAL_API_KEY: () => randomBytes(24).toString('base64url')
} as const

export interface DevEnvironment {
  readonly env: Env
  readonly embedded?: EmbeddedDynamoDb | undefined
  /** What was filled in, by name only. */
  readonly filled: readonly string[]
  /** Of those, the ones the sandbox and the development sign-in filled (announced on their own lines). */
  readonly filledForSandbox: readonly string[]
  /** The platforms pointed at the sandbox (loadConfig's `sandboxed`). */
  readonly sandboxed: readonly string[]
  /** Where the embedded store's data and the generated secrets live. */
  readonly dataDir: string
}

/** `dataDir` defaults to LOCAL_DATA_DIR, else `.data` under the working directory (absolute either way). */
export async function prepareDevEnvironment (env: Env, dataDir = localDataDir(env)): Promise<DevEnvironment> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const secretsFile = join(dataDir, 'dev-secrets.json')
  let secrets: Record<string, string> = {}
  try {
    secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>
  } catch {}
  const filled: string[] = []
  const out: Env = { ...env }
  let changed = false
  for (const [name, make] of Object.entries(GENERATED)) {
    if (out[name] !== undefined && out[name] !== '') continue
    if (secrets[name] === undefined) { secrets[name] = make(); changed = true }
    out[name] = secrets[name]
    filled.push(name)
  }
  if (changed) writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 })
  // Locally the service is its own app (the /dev console is where connect flows return).
  if (out.APP_URL === undefined || out.APP_URL === '') { out.APP_URL = `http://localhost:${out.PORT === undefined || out.PORT === '' ? '3000' : out.PORT}`; filled.push('APP_URL') }
  // Platforms without credentials are served by the built-in sandbox (docs/sandbox.md; SANDBOX=off: none).
  const sandboxed = sandboxEnv(out)
  Object.assign(out, sandboxed.env)
  filled.push(...sandboxed.filled)
  // No Cognito configured: the development sign-in (src/dev/) stands in for it, through the real check.
  const identity = devIdentityEnv(out, devBaseUrl(out))
  Object.assign(out, identity.env)
  filled.push(...identity.filled)

  let embedded: EmbeddedDynamoDb | undefined
  if (out.DYNAMODB_ENDPOINT === undefined || out.DYNAMODB_ENDPOINT === '') {
    const dbPath = join(dataDir, 'dynamodb')
    mkdirSync(dbPath, { recursive: true })
    const started = await startEmbeddedDynamoDb({ dbPath })
    writeLocalStore(dataDir, started.endpoint)
    // Stopping the store withdraws its published endpoint (a SIGKILL leaves it behind, marked stale by its pid).
    embedded = {
      endpoint: started.endpoint,
      pid: started.pid,
      stop: async () => {
        removeLocalStore(dataDir)
        await started.stop()
      }
    }
    out.DYNAMODB_ENDPOINT = started.endpoint
    filled.push('DYNAMODB_ENDPOINT')
  }
  return { env: out, embedded, filled, filledForSandbox: [...sandboxed.filled, ...identity.filled], sandboxed: sandboxed.sandboxed, dataDir }
}
