// Every platform, in one list: adding one is a module and a line here.
import type { Config } from '../config.js'
import { instagramModule } from './instagram.js'
import type { Platform, PlatformConfig, PlatformName, PlatformSpec } from './platform.js'
import type { ProviderHttp } from './provider-http.js'
import { redditModule } from './reddit.js'
import { tiktokModule } from './tiktok.js'

export interface PlatformModule {
  readonly spec: PlatformSpec
  create (config: PlatformConfig, http: ProviderHttp): Platform
}

export const PLATFORM_MODULES: readonly PlatformModule[] = [instagramModule, tiktokModule, redditModule]

export function createPlatforms (config: Config, http: ProviderHttp): Readonly<Record<PlatformName, Platform>> {
  const entries = PLATFORM_MODULES.map((m) => [m.spec.name, m.create(config.platforms[m.spec.name], http)] as const)
  return Object.fromEntries(entries) as Record<PlatformName, Platform>
}
