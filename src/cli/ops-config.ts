// The operators' CLI reads the service's own configuration (loadConfig), but needs only the table, the
// region/endpoint and the platforms' windows: variables it never uses get inert placeholders when unset,
// so an operator's shell needs no cookie secret or encryption key to look at the lock.
import { randomBytes } from 'node:crypto'
import { loadConfig, type Config } from '../config.js'
import { localDataDir, localStorePath, readLocalStore } from '../local-store-file.js'
import { generateEncryptionKey } from '../store/crypto.js'

type Env = Readonly<Record<string, string | undefined>>

/** What the CLI never reads; the real value wins whenever it is set. */
function placeholders (): Record<string, string> {
  return {
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: generateEncryptionKey('ops'),
    APP_URL: 'https://ops.invalid',
    COGNITO_CLIENT_ID: 'ops-cli',
    COGNITO_USER_POOL_ID: 'ops_cli'
  }
}

export function loadOpsConfig (env: Env): Config {
  const filled: Record<string, string | undefined> = { ...placeholders() }
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') filled[name] = value
  return loadConfig(filled)
}

export const NO_STORE_CONFIGURED = 'no DynamoDB endpoint and no AWS credentials: set DYNAMODB_ENDPOINT for a local store, or AWS credentials (AWS_PROFILE, …) for AWS'

/**
 * Outside production with no DYNAMODB_ENDPOINT, the store `npm start` runs (its published endpoint,
 * local-store-file.ts) rather than AWS: on a developer's machine that is the store they mean. `note`
 * says on stderr which store that is, or why the published one was not taken.
 */
export function locateStore (env: Env): { env: Env, note?: string } {
  if (env.NODE_ENV === 'production' || (env.DYNAMODB_ENDPOINT !== undefined && env.DYNAMODB_ENDPOINT !== '')) return { env }
  const dataDir = localDataDir(env)
  const published = readLocalStore(dataDir)
  if (published === undefined) return { env }
  if (!published.live) {
    return { env, note: `ignoring ${localStorePath(dataDir)}: the npm start that wrote it (pid ${published.store.pid}) is gone` }
  }
  return {
    env: { ...env, DYNAMODB_ENDPOINT: published.store.endpoint },
    note: `using the local store of npm start (pid ${published.store.pid}) at ${published.store.endpoint}, from ${localStorePath(dataDir)}; NODE_ENV=production or DYNAMODB_ENDPOINT to use another`
  }
}
