// TikTok Login Kit v2: `client_key` instead of client_id, comma-separated scopes, PKCE S256, client
// credentials in the form body, refresh tokens that rotate (the old one stops working at once).
// @see https://developers.tiktok.com/doc/oauth-user-access-token-management
import type { ClientAuth } from 'openid-client'
import { idString, lookupAccount, optionalString } from './account-lookup.js'
import { revokeToken, tokenGrant, type OAuthClientOptions } from './oauth-client.js'
import { FAILURE_CODES, ProviderError } from './oauth-errors.js'
import type { Platform, PlatformConfig, RefreshOutcome } from './platform.js'
import type { ProviderHttp } from './provider-http.js'
import type { PlatformModule } from './registry.js'
import { tiktokSpec } from './specs.js'
import { toRefreshOutcome } from './token-response.js'
import { buildAuthorizationUrl } from './authorize-url.js'

/** TikTok's quirks, in its own wire names. */
export const TIKTOK_WIRE = {
  clientIdParam: 'client_key',
  scopeSeparator: ',',
  pkce: true,
  /** The user info fields asked for; `open_id` is the account id. */
  userFields: 'open_id,union_id,display_name,username'
} as const

/** TikTok takes `client_key` and `client_secret` as form fields, never as HTTP Basic. */
export function tiktokBodyAuth (clientKey: string, clientSecret: string): ClientAuth {
  return (_as, _client, body) => {
    body.set(TIKTOK_WIRE.clientIdParam, clientKey)
    body.set('client_secret', clientSecret)
  }
}

export function createTiktok (config: PlatformConfig, http: ProviderHttp): Platform {
  const oauth: OAuthClientOptions = { config, http, clientAuth: tiktokBodyAuth(config.clientId, config.clientSecret) }
  return {
    name: 'tiktok',
    spec: tiktokSpec,
    config,
    usesPkce: TIKTOK_WIRE.pkce,

    authorizationUrl: (input) => buildAuthorizationUrl(config, TIKTOK_WIRE, input),

    async exchangeCode ({ code, codeVerifier }) {
      const parameters: Record<string, string> = { code, redirect_uri: config.redirectUri }
      if (codeVerifier !== undefined) parameters.code_verifier = codeVerifier
      const answer = await tokenGrant(oauth, config.urls.token, 'authorization_code', parameters)
      if (answer.kind !== 'refreshed') throw ProviderError.fromFailure(answer, 'code exchange')
      if (answer.grant.refreshToken === undefined) throw new ProviderError('exchange_failed', FAILURE_CODES.missingRefreshToken, 'code exchange')
      const openId = idString(answer.body.open_id)
      const url = new URL(config.urls.userinfo)
      url.searchParams.set('fields', TIKTOK_WIRE.userFields)
      const account = await lookupAccount(http, url.href, answer.grant.accessToken, (body) => {
        const user = (body.data as { user?: Record<string, unknown> } | undefined)?.user
        const error = body.error as { code?: unknown } | undefined
        if (user === undefined || (error !== undefined && error.code !== 'ok')) return undefined
        const id = idString(user.open_id) ?? openId
        // The user answered must be the one the token was issued for (open_id from the token answer).
        if (id === undefined || (openId !== undefined && id !== openId)) return undefined
        return { id, username: optionalString(user.username) ?? optionalString(user.display_name) }
      })
      return { ...answer.grant, account }
    },

    async refresh ({ refreshToken }): Promise<RefreshOutcome> {
      if (refreshToken === undefined) return { kind: 'permanent', code: FAILURE_CODES.missingRefreshToken }
      return toRefreshOutcome(await tokenGrant(oauth, config.urls.refresh, 'refresh_token', { refresh_token: refreshToken }))
    },

    async revoke ({ accessToken }) {
      if (config.urls.revoke === undefined) return false
      return await revokeToken(oauth, config.urls.revoke, accessToken)
    }
  }
}

export const tiktokModule: PlatformModule = { spec: tiktokSpec, create: createTiktok }
