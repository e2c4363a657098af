// The operators' CLI reads the service's own configuration (loadConfig), but needs only the table, the
// region/endpoint and the platforms' windows: variables it never uses get inert placeholders when unset,
// so an operator's shell needs no cookie secret or encryption key to look at the lock.
import { randomBytes } from 'node:crypto'
import { loadConfig, type Config } from '../config.js'
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
