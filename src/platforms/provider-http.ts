// The one way to reach a provider: an injected fetch (tests point it at the fake providers), a timeout
// on every call and a descriptive User-Agent (Reddit requires one).
// PLACEHOLDER owned by the platforms work: keep these exports, extend freely.
export interface ProviderHttp {
  readonly fetch: typeof fetch
  readonly timeoutMs: number
  readonly userAgent: string
  readonly now: () => number
}

export interface ProviderHttpOptions {
  readonly fetch?: typeof fetch | undefined
  readonly timeoutMs: number
  readonly userAgent?: string | undefined
  readonly now?: (() => number) | undefined
}

export const DEFAULT_USER_AGENT = 'node:oauth-refresher:v0.1.0 (token refresh service)'

export function createProviderHttp (options: ProviderHttpOptions): ProviderHttp {
  return {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs,
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    now: options.now ?? Date.now
  }
}
