// Every platform, in one list: adding one is a module and a line here. The names, the specs, the
// configuration variables (config.ts) and the status keys (routes/platforms.ts) all derive from it.
import { instagramModule } from './instagram.js'
import type { Platform, PlatformConfig, PlatformSpec } from './platform.js'
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

/** Each platform built from its loaded configuration, on one set of provider connections. */
export function createPlatforms (configs: Readonly<Record<PlatformName, PlatformConfig>>, http: ProviderHttp): Readonly<Record<PlatformName, Platform>> {
  const entries = PLATFORM_MODULES.map((m) => [m.spec.name, m.create(configs[m.spec.name], http)] as const)
  return Object.fromEntries(entries) as Record<PlatformName, Platform>
}
