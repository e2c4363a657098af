// Where the development sign-in lives, and the environment that points the REAL identity check at it:
// COGNITO_ISSUER / COGNITO_JWKS_URL / COGNITO_CLIENT_ID name this service's own /dev/identity, so
// aws-jwt-verify downloads the dev JWKS over HTTP as it would Cognito's. Pure: no I/O, no clock.
import { DEV_IDENTITY_PATH } from '../identity/dev-issuer.js'

export const DEV_JWKS_PATH = `${DEV_IDENTITY_PATH}/.well-known/jwks.json`
export const DEV_CLIENT_ID = 'dev-console-client'

type Env = Record<string, string | undefined>

const set = (env: Env, name: string): boolean => env[name] !== undefined && env[name] !== ''

/**
 * The URL this process can reach itself on, from HOST and PORT as server.ts listens on them: a
 * wildcard HOST is reached on loopback. Undefined for PORT=0 (the port is not known before listening).
 */
export function devBaseUrl (env: Env): string | undefined {
  const port = set(env, 'PORT') ? env.PORT : '3000'
  if (port === '0') return undefined
  const host = !set(env, 'HOST') || env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : String(env.HOST)
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/**
 * `env` with the dev identity filled in, in development only and only when no Cognito variable is set
 * (a developer pointing at a real pool or an emulator keeps it). `filled` names what was added.
 */
export function devIdentityEnv (env: Env, baseUrl: string | undefined): { readonly env: Env, readonly filled: readonly string[] } {
  const development = !set(env, 'NODE_ENV') || env.NODE_ENV === 'development'
  const cognitoSet = ['COGNITO_USER_POOL_ID', 'COGNITO_ISSUER', 'COGNITO_JWKS_URL', 'COGNITO_CLIENT_ID'].some((name) => set(env, name))
  if (!development || cognitoSet || baseUrl === undefined) return { env, filled: [] }
  const base = baseUrl.replace(/\/+$/, '')
  return {
    env: { ...env, COGNITO_ISSUER: `${base}${DEV_IDENTITY_PATH}`, COGNITO_JWKS_URL: `${base}${DEV_JWKS_PATH}`, COGNITO_CLIENT_ID: DEV_CLIENT_ID },
    filled: ['COGNITO_ISSUER', 'COGNITO_JWKS_URL', 'COGNITO_CLIENT_ID']
  }
}
