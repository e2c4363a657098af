// The sandbox's state: one provider per sandboxed platform, registered with the client configuration
// names (so the service's own calls are accepted), and the switch that makes a platform's next
// refresh fail. Framework-free: the plugin decorates the instance with it, the routes read it.
import type { PlatformConfig, PlatformModule } from '../platforms/platform.js'
import { PLATFORM_MODULES, type PlatformName } from '../platforms/registry.js'
import { GraphProvider } from './providers/graph.js'
import { createProvider } from './providers/index.js'
import type { OAuthProvider } from './providers/oauth-provider.js'
import type { Fault } from './providers/wire.js'

export type SandboxFailure = 'invalid_grant' | 'server_error' | 'timeout'
export const SANDBOX_FAILURES: readonly SandboxFailure[] = ['invalid_grant', 'server_error', 'timeout']

export interface SandboxControl {
  /** The sandboxed platforms. */
  readonly platforms: readonly PlatformName[]
  /** The platform's next refresh answers this failure (one refresh; a later call replaces it). */
  failNextRefresh (platform: PlatformName, kind: SandboxFailure): void
  pendingFailure (platform: PlatformName): SandboxFailure | undefined
  /**
   * What a user removing the app in the provider's settings does: the grant behind `accessToken` dies
   * (its API then answers 401 or Graph 190, its refresh a permanent refusal). False: unknown token.
   */
  revokeAccess (platform: PlatformName, accessToken: string): boolean
}

/** invalid_grant: the provider's own permanent-error wire; server_error: a 500; timeout: no answer. */
const FAULTS: Readonly<Record<SandboxFailure, Fault>> = {
  invalid_grant: { kind: 'invalid_grant' },
  server_error: { kind: 'status', status: 500 },
  timeout: { kind: 'hang' }
}

export function isSandboxFailure (value: unknown): value is SandboxFailure {
  return typeof value === 'string' && (SANDBOX_FAILURES as readonly string[]).includes(value)
}

export interface SandboxHubOptions {
  readonly platforms: readonly PlatformName[]
  readonly configs: Readonly<Record<PlatformName, PlatformConfig>>
  readonly tokenLifetimeSec: number
  /** The platform modules to play, the registry's unless given (a test's extra platform module). */
  readonly modules?: readonly PlatformModule[] | undefined
}

export class SandboxHub implements SandboxControl {
  readonly platforms: readonly PlatformName[]
  readonly #providers = new Map<PlatformName, OAuthProvider>()
  readonly #pending = new Map<PlatformName, SandboxFailure>()
  readonly #closing = new AbortController()

  constructor (options: SandboxHubOptions) {
    this.platforms = [...options.platforms]
    const modules = options.modules ?? PLATFORM_MODULES
    for (const platform of this.platforms) {
      const config = options.configs[platform]
      const module = modules.find((m) => m.spec.name === platform)
      if (module === undefined) throw new Error(`${platform}: no platform module to play`)
      const provider = createProvider(module, {
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        redirectUri: config.redirectUri,
        expiresInSec: options.tokenLifetimeSec
      })
      // Graph's refreshed tokens are long-lived ones: short here too, so a refresh is soon due again.
      if (provider instanceof GraphProvider) provider.longLivedExpiresInSec = options.tokenLifetimeSec
      this.#providers.set(platform, provider)
    }
  }

  /** The hub of the configured sandbox: the sandboxed platforms, their clients, the token lifetime. */
  static fromConfig (config: { readonly sandbox: Pick<SandboxHubOptions, 'platforms' | 'tokenLifetimeSec'>, readonly platforms: SandboxHubOptions['configs'] }, modules?: readonly PlatformModule[]): SandboxHub {
    return new SandboxHub({ platforms: config.sandbox.platforms, configs: config.platforms, tokenLifetimeSec: config.sandbox.tokenLifetimeSec, modules })
  }

  provider (platform: PlatformName): OAuthProvider {
    const provider = this.#providers.get(platform)
    if (provider === undefined) throw new Error(`${platform} is not sandboxed`)
    return provider
  }

  failNextRefresh (platform: PlatformName, kind: SandboxFailure): void {
    this.provider(platform)
    this.#pending.set(platform, kind)
  }

  revokeAccess (platform: PlatformName, accessToken: string): boolean {
    return this.provider(platform).revokeAccess(accessToken)
  }

  pendingFailure (platform: PlatformName): SandboxFailure | undefined {
    return this.#pending.get(platform)
  }

  /** The fault for a refresh arriving now (the pending failure, used up), if any. */
  takeRefreshFault (platform: PlatformName): Fault | undefined {
    const kind = this.#pending.get(platform)
    this.#pending.delete(platform)
    return kind === undefined ? undefined : FAULTS[kind]
  }

  /** Aborted when the service closes: held (timeout) requests are let go. */
  get closing (): AbortSignal { return this.#closing.signal }

  close (): void { this.#closing.abort() }
}
