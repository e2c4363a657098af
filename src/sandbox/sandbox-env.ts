// Development only: the platforms nobody configured are pointed at the sandbox the service serves
// itself (/sandbox/<platform>/…). This runs on the environment before configuration is loaded, so
// the connect flow and the refresh see nothing but a client id and URLs: they cannot tell the
// sandbox from the real provider. The development start-up hands loadConfig() the sandboxed platforms.
import { platformVar, urlVar, type UrlKey } from '../platforms/env-names.js'
import type { PlatformSpec } from '../platforms/platform.js'
import { PLATFORM_SPECS } from '../platforms/registry.js'
import { providerAddress, providerEnv, type Env } from './providers/oauth-provider.js'

export const SANDBOX_PREFIX = '/sandbox'

const set = (value: string | undefined): value is string => value !== undefined && value !== ''

/** SANDBOX_BASE_URL, else http://localhost:<PORT> (the service as the developer's browser reaches it). */
function sandboxBaseUrl (env: Readonly<Env>): string {
  const base = set(env.SANDBOX_BASE_URL) ? env.SANDBOX_BASE_URL : `http://localhost:${set(env.PORT) ? env.PORT : '3000'}`
  return base.replace(/\/+$/, '')
}

/** Everything the service needs to use the sandboxed platform: the client, the redirect URI, every URL. */
export function sandboxPlatformEnv (spec: PlatformSpec, baseUrl: string): Env {
  const platform = spec.name
  return providerEnv(providerAddress(spec), `${baseUrl}${SANDBOX_PREFIX}/${platform}`, {
    clientId: `sandbox-${platform}-client`,
    // Not a secret anyone holds: the sandbox accepts whatever configuration says (never in production).
    clientSecret: `sandbox-${platform}-secret`,
    redirectUri: `${baseUrl}/api/auth/${platform}/callback`
  })
}

/** The sandbox is wanted: outside production, unless SANDBOX=off. */
function sandboxWanted (env: Readonly<Env>): boolean {
  return env.NODE_ENV !== 'production' && env.SANDBOX !== 'off'
}

export interface SandboxedEnv {
  readonly env: Env
  /** The variables it filled, by name only. */
  readonly filled: readonly string[]
  /** The platforms whose URLs are now the sandbox's (loadConfig's `sandboxed`). */
  readonly sandboxed: readonly string[]
}

export interface SandboxEnvOptions {
  readonly baseUrl?: string | undefined
  /** The platforms, the registry's unless given (a test's extra platform module). */
  readonly specs?: readonly PlatformSpec[] | undefined
}

/**
 * Every platform with neither client id nor secret gets the sandbox's client, redirect URI and URLs
 * (whatever URLs were left behind for it). A pure function: `env` is not changed. `sandboxed` names
 * the platforms whose every URL is then the sandbox's (filled here, or the same set by hand).
 */
export function sandboxEnv (env: Readonly<Env>, options: SandboxEnvOptions = {}): SandboxedEnv {
  if (!sandboxWanted(env)) return { env: { ...env }, filled: [], sandboxed: [] }
  const baseUrl = options.baseUrl ?? sandboxBaseUrl(env)
  const specs = options.specs ?? PLATFORM_SPECS
  const out: Env = { ...env }
  const filled: string[] = []
  for (const spec of specs) {
    if (set(env[platformVar(spec, 'CLIENT_ID')]) || set(env[platformVar(spec, 'CLIENT_SECRET')])) continue
    for (const [name, value] of Object.entries(sandboxPlatformEnv(spec, baseUrl))) {
      out[name] = value
      filled.push(name)
    }
  }
  const sandboxed = specs.filter((spec) => {
    const expected = sandboxPlatformEnv(spec, baseUrl)
    return Object.keys(providerAddress(spec).paths).every((key) => {
      const variable = urlVar(spec, key as UrlKey)
      return out[variable] === expected[variable]
    })
  }).map((spec) => spec.name)
  return { env: out, filled, sandboxed }
}
