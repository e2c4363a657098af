// Reddit: authorization code with duration=permanent, raw HTTP Basic client auth, a descriptive
// User-Agent, errors that may arrive in HTTP-200 bodies, refresh tokens that may or may not rotate.
// @see https://github.com/reddit-archive/reddit/wiki/OAuth2
import { Buffer } from 'node:buffer'
import type { ClientAuth } from 'openid-client'
import { idString, lookupAccount, optionalString } from './account-lookup.js'
import { tokenGrant, revokeToken, type OAuthClientOptions } from './oauth-client.js'
import { FAILURE_CODES, ProviderError } from './oauth-errors.js'
import type { Platform, PlatformConfig, RefreshOutcome } from './platform.js'
import type { ProviderHttp } from './provider-http.js'
import type { PlatformModule } from './registry.js'
import { redditSpec } from './specs.js'
import { toRefreshOutcome } from './token-response.js'
import { buildAuthorizationUrl } from './authorize-url.js'

/** Reddit's quirks, in its own wire names. */
export const REDDIT_WIRE = {
  /** Without it Reddit issues no refresh token (a one-hour connection). */
  clientIdParam: 'client_id',
  authorizeParams: { duration: 'permanent' },
  scopeSeparator: ' ',
  pkce: false
} as const

/**
 * HTTP Basic with the raw `id:secret`, as Reddit's docs show it. openid-client's ClientSecretBasic
 * form-encodes both first (RFC 6749 §2.3.1), which turns `my-id_x` into `my%2Did%5Fx`: Reddit refuses it.
 */
export function rawBasicAuth (clientId: string, clientSecret: string): ClientAuth {
  const value = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`
  return (_as, _client, _body, headers) => { headers.set('authorization', value) }
}

export function createReddit (config: PlatformConfig, http: ProviderHttp): Platform {
  const oauth: OAuthClientOptions = { config, http, clientAuth: rawBasicAuth(config.clientId, config.clientSecret) }
  return {
    name: 'reddit',
    spec: redditSpec,
    config,
    usesPkce: REDDIT_WIRE.pkce,

    authorizationUrl: (input) => buildAuthorizationUrl(config, REDDIT_WIRE, input),

    async exchangeCode ({ code }) {
      const answer = await tokenGrant(oauth, config.urls.token, 'authorization_code', { code, redirect_uri: config.redirectUri })
      if (answer.kind !== 'refreshed') throw ProviderError.fromFailure(answer, 'code exchange')
      // duration=permanent promises a refresh token; without one the connection would die within the hour.
      if (answer.grant.refreshToken === undefined) throw new ProviderError('exchange_failed', FAILURE_CODES.missingRefreshToken, 'code exchange')
      const account = await lookupAccount(http, config.urls.userinfo, answer.grant.accessToken, (body) => {
        const id = idString(body.id)
        return id === undefined ? undefined : { id, username: optionalString(body.name) }
      })
      return { ...answer.grant, account }
    },

    async refresh ({ refreshToken }): Promise<RefreshOutcome> {
      if (refreshToken === undefined) return { kind: 'permanent', code: FAILURE_CODES.missingRefreshToken }
      return toRefreshOutcome(await tokenGrant(oauth, config.urls.refresh, 'refresh_token', { refresh_token: refreshToken }))
    },

    async revoke ({ accessToken, refreshToken }) {
      if (config.urls.revoke === undefined) return false
      // Revoking the refresh token revokes the access tokens issued from it too.
      const [token, hint] = refreshToken === undefined ? [accessToken, 'access_token'] : [refreshToken, 'refresh_token']
      return await revokeToken(oauth, config.urls.revoke, token, { token_type_hint: hint })
    }
  }
}

export const redditModule: PlatformModule = { spec: redditSpec, create: createReddit }
