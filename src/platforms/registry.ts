// Every platform, in one list: adding one is a module and a line here. The names, the specs, the
// configuration variables (config.ts) and the status keys (routes/platforms.ts) all derive from it.
import { instagramModule } from './instagram.js'
import type { Platform, PlatformConfig, PlatformModule, PlatformSpec } from './platform.js'
import type { ProviderHttp } from './provider-http.js'
import { redditModule } from './reddit.js'
import { threadsModule } from './threads.js'
import { tiktokModule } from './tiktok.js'

export const PLATFORM_MODULES = [instagramModule, tiktokModule, redditModule, threadsModule] as const

export type PlatformName = typeof PLATFORM_MODULES[number]['spec']['name']
export const PLATFORM_NAMES: readonly PlatformName[] = PLATFORM_MODULES.map((m) => m.spec.name)
export const PLATFORM_SPECS: readonly PlatformSpec<PlatformName>[] = PLATFORM_MODULES.map((m) => m.spec)

export function isPlatformName (value: string): value is PlatformName {
  return (PLATFORM_NAMES as readonly string[]).includes(value)
}

/**
 * Each platform built from its loaded configuration, on one set of provider connections. `modules`
 * are the registry's unless given (a test's extra platform module, through AppOptions).
 */
export function createPlatforms (configs: Readonly<Record<string, PlatformConfig>>, http: ProviderHttp, modules: readonly PlatformModule[] = PLATFORM_MODULES): Readonly<Record<PlatformName, Platform>> {
  const entries = modules.map((m) => {
    const config = configs[m.spec.name]
    if (config === undefined) throw new Error(`${m.spec.name}: no configuration loaded for this platform module`)
    return [m.spec.name, m.create(config, http)] as const
  })
  return Object.fromEntries(entries) as Record<PlatformName, Platform>
}
