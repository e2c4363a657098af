// The one interface every platform module implements, and the data each declares about itself.
// Shared code iterates the registry (registry.ts, where the list of names comes from); a platform's
// quirks live in its own module as data.
import type { Account, TokenGrant } from '../tokens.js'
import type { ProviderHttp } from './provider-http.js'
import type { FailureCode } from './oauth-errors.js'
import type { Simulation } from './simulation.js'

export type { TokenGrant } from '../tokens.js'

/** Units for the specs' windows and ages. */
export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS

/** Provider endpoints, each overridable as `<P>_<NAME>_URL` (sandboxes, tests). */
export interface PlatformUrls {
  readonly authorize: string
  readonly token: string
  readonly refresh: string
  readonly userinfo: string
  readonly revoke?: string | undefined
  /** Meta's platforms only (Instagram, Threads): the short-lived → long-lived exchange. */
  readonly exchange?: string | undefined
  /** The base of the provider's API that the proxy calls as the user (`<P>_API_URL`); none: not proxied. */
  readonly api?: string | undefined
}

/** What a platform declares about itself; config.ts reads its variables from this. */
export interface PlatformSpec<N extends string = string> {
  readonly name: N
  /** Prefix of its variables: `REDDIT` → REDDIT_CLIENT_ID, REDDIT_TOKEN_URL, … */
  readonly envPrefix: string
  /** Name of the client id variable (TikTok calls it a client key). */
  readonly clientIdVar: string
  readonly defaultUrls: PlatformUrls
  readonly defaultScopes: readonly string[]
  /** How far ahead of expiry the runbook refreshes (before the lapse rule raises it). */
  readonly defaultRefreshWindowMs: number
  readonly defaultRefreshConcurrency: number
  /** The provider's published request cap per client id, if it publishes one. */
  readonly requestsPerMinute?: number | undefined
  /** The provider's documented minimum token age before a refresh is accepted (Instagram: 24 h). */
  readonly minRefreshAgeMs?: number | undefined
  /**
   * The access token is itself the grant, refreshed with itself (Meta's long-lived tokens): letting it
   * expire loses the connection, so on_demand refreshes it inside its window as eager does.
   */
  readonly accessTokenIsGrant?: boolean | undefined
}

/** A platform's settings once configuration is loaded. */
export interface PlatformConfig {
  readonly name: string
  readonly configured: boolean
  readonly clientId: string
  readonly clientSecret: string
  readonly redirectUri: string
  readonly scopes: readonly string[]
  readonly urls: PlatformUrls
  /** The effective window (raised by the lapse rule when shorter than interval + run budget). */
  readonly refreshWindowMs: number
  readonly refreshConcurrency: number
  /** Every call with this client id, fleet-wide, in any 60 s (src/budget); undefined: no cap. */
  readonly requestsPerMinute?: number | undefined
  /** The cron's share of it (default half). */
  readonly cronRequestsPerMinute?: number | undefined
  /** eager: the windows; on_demand: the cron keeps grants alive, access tokens are refreshed on use. */
  readonly refreshMode: 'eager' | 'on_demand'
  /** on_demand: a refresh token whose own expiry is this close is refreshed by the cron. */
  readonly grantWindowMs: number
  /** on_demand: a grant not refreshed for this long is refreshed by the cron (revocations show early). */
  readonly keepaliveMs: number
}

export interface ConnectedGrant extends TokenGrant {
  readonly account: Account
}

/** How a refresh ended, as the run needs to know it. Codes are ours, never a provider's body. */
export type RefreshOutcome =
  /**
   * `warning` marks an answer kept despite a defect, e.g. a missing or non-positive `expires_in`:
   * the tokens are stored (a rotated refresh token must not be lost) with expiresAtMs = now, so the
   * token stays due and is refreshed again by a later run.
   */
  | { readonly kind: 'refreshed', readonly grant: TokenGrant, readonly warning?: string | undefined }
  /** Try again later: network, timeout, 5xx, 429, malformed answers, server_error, Graph 1/2/4/17/341. */
  | { readonly kind: 'transient', readonly code: FailureCode, readonly retryAfterMs?: number | undefined }
  /** The grant is dead for this token: invalid_grant, invalid_client / unauthorized_client, Graph 190. */
  | { readonly kind: 'permanent', readonly code: FailureCode }

/** The input of a refresh: the stored secrets and what is known about the token. */
export interface RefreshInput {
  readonly accessToken: string
  readonly refreshToken?: string | undefined
}

/**
 * How the provider's API says that the access token itself is refused, so the proxy refreshes it once
 * and sends the request again. A 401 always is; Graph also answers code 190 in a 400 body.
 */
export interface ApiTokenRefusal {
  /** Besides 401: statuses whose (small) JSON body may refuse the token. */
  readonly bodyStatuses: readonly number[]
  /** Whether an answer refuses the access token; `body` is the parsed JSON body, if any was read. */
  refuses (status: number, body: unknown): boolean
}

/** Every OAuth 2.0 bearer API (RFC 6750 §3.1): `401` with `invalid_token`. */
export const BEARER_TOKEN_REFUSAL: ApiTokenRefusal = {
  bodyStatuses: [],
  refuses: (status) => status === 401
}

/** What the connect flow asks of a platform; failures throw ProviderError (oauth-errors.ts). */
export interface Platform {
  readonly name: string
  readonly spec: PlatformSpec
  readonly config: PlatformConfig
  /** PKCE S256 where the provider's documentation accepts it (TikTok). */
  readonly usesPkce: boolean
  /** The provider's authorize URL for one flow. */
  authorizationUrl (input: { readonly state: string, readonly codeChallenge?: string | undefined }): URL
  /** Code → tokens (Instagram: → long-lived token) → account id and username. */
  exchangeCode (input: { readonly code: string, readonly codeVerifier?: string | undefined }): Promise<ConnectedGrant>
  /** Never throws for a provider answer: every answer becomes an outcome. */
  refresh (input: RefreshInput): Promise<RefreshOutcome>
  /** Revokes at the provider; false where it has no endpoint or the call failed. */
  revoke (input: RefreshInput): Promise<boolean>
  /** How its API refuses an access token (the proxy's refresh-and-retry rule). */
  readonly apiTokenRefusal: ApiTokenRefusal
}

/**
 * One platform module: its self-description, the factory of its Platform once configured, and what
 * the sandbox and the test fakes need to play its provider (built from it in src/sandbox/providers).
 */
export interface PlatformModule<N extends string = string> {
  readonly spec: PlatformSpec<N>
  readonly simulation: Simulation
  create (config: PlatformConfig, http: ProviderHttp): Platform
}
