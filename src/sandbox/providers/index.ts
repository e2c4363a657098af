// The simulated providers, one per platform: their classes (the sandbox and the test fakes build
// them) and where their endpoints live (sandbox-env.ts points the service's variables there).
import { InstagramProvider, INSTAGRAM_WIRE } from './instagram.js'
import type { ProviderAddress } from './oauth-provider.js'
import { REDDIT_ADDRESS, RedditProvider } from './reddit.js'
import { ThreadsProvider, THREADS_WIRE } from './threads.js'
import { TIKTOK_ADDRESS, TiktokProvider } from './tiktok.js'

export { GraphProvider, graphError } from './graph.js'
export { OAuthProvider, providerEnv, type ProviderOptions, type ProviderAddress, type AuthorizeDecision } from './oauth-provider.js'
export { InstagramProvider, RedditProvider, ThreadsProvider, TiktokProvider }

export const PROVIDERS = {
  instagram: InstagramProvider,
  tiktok: TiktokProvider,
  reddit: RedditProvider,
  threads: ThreadsProvider
} as const

export type ProviderName = keyof typeof PROVIDERS

export const PROVIDER_ADDRESSES: Readonly<Record<ProviderName, ProviderAddress>> = {
  instagram: INSTAGRAM_WIRE,
  tiktok: TIKTOK_ADDRESS,
  reddit: REDDIT_ADDRESS,
  threads: THREADS_WIRE
}
