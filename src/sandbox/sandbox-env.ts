// Development only: the platforms nobody configured are pointed at the sandbox the service serves
// itself (/sandbox/<platform>/…). This runs on the environment before configuration is loaded, so
// the connect flow and the refresh see nothing but a client id and URLs: they cannot tell the
// sandbox from the real provider. The development start-up hands loadConfig() the sandboxed platforms.
import { platformVar } from '../platforms/env-names.js'
import { PLATFORM_NAMES, type PlatformName } from '../platforms/registry.js'
import { PROVIDER_ADDRESSES } from './providers/index.js'
import { providerEnv, type Env } from './providers/oauth-provider.js'

export const SANDBOX_PREFIX = '/sandbox'

const set = (value: string | undefined): value is string => value !== undefined && value !== ''

/** SANDBOX_BASE_URL, else http://localhost:<PORT> (the service as the developer's browser reaches it). */
export function sandboxBaseUrl (env: Readonly<Env>): string {
  const base = set(env.SANDBOX_BASE_URL) ? env.SANDBOX_BASE_URL : `http://localhost:${set(env.PORT) ? env.PORT : '3000'}`
  return base.replace(/\/+$/, '')
}

/** Where the sandbox serves `platform`'s provider. */
export const sandboxProviderUrl = (baseUrl: string, platform: PlatformName): string => `${baseUrl}${SANDBOX_PREFIX}/${platform}`

/** Everything the service needs to use the sandboxed `platform`: the client, the redirect URI, every URL. */
export function sandboxPlatformEnv (platform: PlatformName, baseUrl: string): Env {
  return providerEnv(PROVIDER_ADDRESSES[platform], sandboxProviderUrl(baseUrl, platform), {
    clientId: `sandbox-${platform}-client`,
    // Not a secret anyone holds: the sandbox accepts whatever configuration says (never in production).
    clientSecret: `sandbox-${platform}-secret`,
    redirectUri: `${baseUrl}/api/auth/${platform}/callback`
  })
}

/** The sandbox is wanted: outside production, unless SANDBOX=off. */
export function sandboxWanted (env: Readonly<Env>): boolean {
  return env.NODE_ENV !== 'production' && env.SANDBOX !== 'off'
}

export interface SandboxedEnv {
  readonly env: Env
  /** The variables it filled, by name only. */
  readonly filled: readonly string[]
  /** The platforms whose URLs are now the sandbox's (loadConfig's `sandboxed`). */
  readonly sandboxed: readonly PlatformName[]
}

/**
 * Every platform with neither client id nor secret gets the sandbox's client, redirect URI and URLs
 * (whatever URLs were left behind for it). A pure function: `env` is not changed.
 */
export function sandboxEnv (env: Readonly<Env>, baseUrl = sandboxBaseUrl(env)): SandboxedEnv {
  if (!sandboxWanted(env)) return { env: { ...env }, filled: [], sandboxed: [] }
  const out: Env = { ...env }
  const filled: string[] = []
  for (const platform of PLATFORM_NAMES) {
    const address = PROVIDER_ADDRESSES[platform]
    if (set(env[platformVar(address, 'CLIENT_ID')]) || set(env[platformVar(address, 'CLIENT_SECRET')])) continue
    for (const [name, value] of Object.entries(sandboxPlatformEnv(platform, baseUrl))) {
      out[name] = value
      filled.push(name)
    }
  }
  return { env: out, filled, sandboxed: sandboxedPlatforms(out) }
}

/** The platforms whose every URL is the sandbox's (what sandboxEnv set, or the same by hand). */
export function sandboxedPlatforms (env: Readonly<Env>): PlatformName[] {
  if (!sandboxWanted(env)) return []
  const baseUrl = sandboxBaseUrl(env)
  return PLATFORM_NAMES.filter((platform) => {
    const address = PROVIDER_ADDRESSES[platform]
    const expected = sandboxPlatformEnv(platform, baseUrl)
    return Object.keys(address.paths).every((name) => {
      const variable = platformVar(address, `${name as 'TOKEN'}_URL`)
      return env[variable] === expected[variable]
    })
  })
}
