// The scaffolding every platform module shares, so that a module states only what is its own: its
// spec, its wire data, its steps. definePlatform() builds the Platform around any provider's steps;
// defineCodeGrantPlatform() adds the steps the OAuth 2.0 providers with refresh tokens share (Reddit,
// TikTok): code grant, account lookup, the refresh-token grant and the missing-refresh-token rule.
// @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1 and #section-6
import type { Account } from '../tokens.js'
import { lookupAccount } from './account-lookup.js'
import { buildAuthorizationUrl } from './authorize-url.js'
import { tokenGrant, wireClientAuth, type OAuthClientOptions } from './oauth-client.js'
import { FAILURE_CODES, PROVIDER_ERROR_CODES, ProviderError } from './oauth-errors.js'
import { BEARER_TOKEN_REFUSAL, type ApiTokenRefusal, type Platform, type PlatformConfig, type PlatformModule, type PlatformSpec, type RefreshInput } from './platform.js'
import type { ProviderHttp } from './provider-http.js'
import type { CodeGrantSimulation, Simulation } from './simulation.js'
import { toRefreshOutcome } from './token-response.js'
import type { AuthorizeWire, CodeGrantWire } from './wire.js'

/** What a module does itself; name, spec, config, PKCE and the authorize URL come from its data. */
export type PlatformSteps = Pick<Platform, 'exchangeCode' | 'refresh'> & Partial<Pick<Platform, 'revoke'>>

export interface PlatformDefinition<N extends string> {
  readonly spec: PlatformSpec<N>
  readonly wire: AuthorizeWire
  readonly simulation: Simulation
  steps (config: PlatformConfig, http: ProviderHttp): PlatformSteps
  /** How its API refuses a token; default: a bearer API's 401. */
  readonly apiTokenRefusal?: ApiTokenRefusal | undefined
}

export function definePlatform<N extends string> (definition: PlatformDefinition<N>): PlatformModule<N> {
  const { spec, wire, simulation } = definition
  return {
    spec,
    simulation,
    create (config: PlatformConfig, http: ProviderHttp): Platform {
      const steps = definition.steps(config, http)
      return {
        name: spec.name,
        spec,
        config,
        usesPkce: wire.pkce,
        authorizationUrl: (input) => buildAuthorizationUrl(config, wire, input),
        exchangeCode: steps.exchangeCode,
        refresh: steps.refresh,
        // No revocation endpoint: disconnecting only forgets the tokens (`revoked: false`).
        revoke: steps.revoke ?? (async () => false),
        apiTokenRefusal: definition.apiTokenRefusal ?? BEARER_TOKEN_REFUSAL
      }
    }
  }
}

/** What a code-grant platform's simulated provider adds to its spec and wire. */
export type CodeGrantSimulationData = Omit<CodeGrantSimulation, 'family' | 'wire'>

export interface CodeGrantDefinition<N extends string> {
  readonly spec: PlatformSpec<N>
  readonly wire: CodeGrantWire
  readonly simulation: CodeGrantSimulationData
  readonly account: {
    /** The account lookup URL, with the fields asked for. */
    url (config: PlatformConfig): string
    /** The account out of the lookup's JSON body; `tokenBody` is the code answer's. */
    pick (body: Record<string, unknown>, tokenBody: Record<string, unknown>): Account | undefined
  }
  /** RFC 7009 revocation at `url`; absent: the provider has none. */
  revoke? (oauth: OAuthClientOptions, url: string, input: RefreshInput): Promise<boolean>
}

export function defineCodeGrantPlatform<N extends string> (definition: CodeGrantDefinition<N>): PlatformModule<N> {
  return definePlatform({
    spec: definition.spec,
    wire: definition.wire,
    simulation: { ...definition.simulation, family: 'code_grant', wire: definition.wire },
    steps (config, http) {
      const clientAuth = wireClientAuth(definition.wire, config.clientId, config.clientSecret)
      const oauth: OAuthClientOptions = { config, http, clientAuth, rateLimitResetHeader: definition.wire.rateLimitResetHeader }
      return {
        async exchangeCode ({ code, codeVerifier }) {
          const parameters: Record<string, string> = { code, redirect_uri: config.redirectUri }
          if (codeVerifier !== undefined) parameters.code_verifier = codeVerifier
          const answer = await tokenGrant(oauth, config.urls.token, 'authorization_code', parameters)
          if (answer.kind !== 'refreshed') throw ProviderError.fromFailure(answer, 'code exchange')
          // Without a refresh token the connection would die with its first access token (an hour on Reddit).
          if (answer.grant.refreshToken === undefined) throw new ProviderError(PROVIDER_ERROR_CODES.exchangeFailed, FAILURE_CODES.missingRefreshToken, 'code exchange')
          const account = await lookupAccount(http, definition.account.url(config), answer.grant.accessToken, (body) => definition.account.pick(body, answer.body))
          return { ...answer.grant, account }
        },

        async refresh ({ refreshToken }) {
          if (refreshToken === undefined) return { kind: 'permanent', code: FAILURE_CODES.missingRefreshToken }
          return toRefreshOutcome(await tokenGrant(oauth, config.urls.refresh, 'refresh_token', { refresh_token: refreshToken }))
        },

        async revoke (input) {
          if (definition.revoke === undefined || config.urls.revoke === undefined) return false
          return await definition.revoke(oauth, config.urls.revoke, input)
        }
      }
    }
  })
}
