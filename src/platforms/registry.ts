// Every platform, in one list: adding one is a module and a line here.
// PLACEHOLDER owned by the platforms work: keep these exports.
import type { Config } from '../config.js'
import type { Platform, PlatformConfig, PlatformName, PlatformSpec } from './platform.js'
import type { ProviderHttp } from './provider-http.js'

export interface PlatformModule {
  readonly spec: PlatformSpec
  create (config: PlatformConfig, http: ProviderHttp): Platform
}

export const PLATFORM_MODULES: readonly PlatformModule[] = []

export function createPlatforms (config: Config, http: ProviderHttp): Readonly<Record<PlatformName, Platform>> {
  const entries = PLATFORM_MODULES.map((m) => [m.spec.name, m.create(config.platforms[m.spec.name], http)] as const)
  return Object.fromEntries(entries) as Record<PlatformName, Platform>
}
