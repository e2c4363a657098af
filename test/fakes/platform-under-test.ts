// Builds one platform module against a fake provider, the way the app does (config from env(),
// ProviderHttp with a timeout), with a fixed clock so expiries can be asserted exactly.
import { loadConfig } from '../../src/config.js'
import type { Platform } from '../../src/platforms/platform.js'
import { createProviderHttp } from '../../src/platforms/provider-http.js'
import { PLATFORM_MODULES, type PlatformName } from '../../src/platforms/registry.js'
import { testEnv } from '../helper.js'
import type { Env } from './oauth-fake.js'

export const FIXED_NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0)

export interface PlatformUnderTestOptions {
  readonly timeoutMs?: number
  readonly now?: () => number
  readonly env?: Env
}

/** The registry's module for `name`, configured from `fakeEnv` (a fake's env()) plus `env`. */
export function platformUnderTest (name: PlatformName, fakeEnv: Env, options: PlatformUnderTestOptions = {}): Platform {
  const config = loadConfig(testEnv({ ...fakeEnv, ...options.env }))
  const module = PLATFORM_MODULES.find((m) => m.spec.name === name)
  if (module === undefined) throw new Error(`no module for ${name}`)
  const http = createProviderHttp({ timeoutMs: options.timeoutMs ?? 2_000, now: options.now ?? (() => FIXED_NOW_MS) })
  return module.create(config.platforms[name], http)
}

/** Everything a test could leak, as text: outcomes, error messages, stacks and own properties. */
export function leakText (value: unknown): string {
  if (value instanceof Error) {
    const own = Object.fromEntries(Object.getOwnPropertyNames(value).map((k) => [k, String((value as unknown as Record<string, unknown>)[k])]))
    return `${value.message}\n${value.stack ?? ''}\n${JSON.stringify(own)}\n${value.cause === undefined ? '' : leakText(value.cause)}`
  }
  return JSON.stringify(value) ?? String(value)
}
