// Reddit: authorization code with duration=permanent, raw HTTP Basic client auth, a descriptive
// User-Agent, errors that may arrive in HTTP-200 bodies, refresh tokens that may or may not rotate.
// @see https://github.com/reddit-archive/reddit/wiki/OAuth2 and https://support.reddithelp.com/hc/en-us/articles/16160319875092 (rate limits)
import { Buffer } from 'node:buffer'
import type { ClientAuth } from 'openid-client'
import { idString, optionalString } from './account-lookup.js'
import { defineCodeGrantPlatform } from './define-platform.js'
import { revokeToken } from './oauth-client.js'
import { MINUTE_MS, type PlatformSpec } from './platform.js'

export const redditSpec = {
  name: 'reddit',
  envPrefix: 'REDDIT',
  clientIdVar: 'REDDIT_CLIENT_ID',
  defaultUrls: {
    authorize: 'https://www.reddit.com/api/v1/authorize',
    token: 'https://www.reddit.com/api/v1/access_token',
    refresh: 'https://www.reddit.com/api/v1/access_token',
    revoke: 'https://www.reddit.com/api/v1/revoke_token',
    userinfo: 'https://oauth.reddit.com/api/v1/me',
    api: 'https://oauth.reddit.com'
  },
  defaultScopes: ['identity'],
  defaultRefreshWindowMs: 20 * MINUTE_MS,
  defaultRefreshConcurrency: 4,
  requestsPerMinute: 100
} as const satisfies PlatformSpec

/** Reddit's quirks, in its own wire names. */
export const REDDIT_WIRE = {
  clientIdParam: 'client_id',
  /** Without it Reddit issues no refresh token (a one-hour connection). */
  authorizeParams: { duration: 'permanent' },
  scopeSeparator: ' ',
  pkce: false,
  /** Reddit announces its window's end in seconds in this header rather than in Retry-After. */
  rateLimitResetHeader: 'x-ratelimit-reset'
} as const

/**
 * HTTP Basic with the raw `id:secret`, as Reddit's docs show it. openid-client's ClientSecretBasic
 * form-encodes both first (RFC 6749 §2.3.1), which turns `my-id_x` into `my%2Did%5Fx`: Reddit refuses it.
 */
export function rawBasicAuth (clientId: string, clientSecret: string): ClientAuth {
  const value = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`
  return (_as, _client, _body, headers) => { headers.set('authorization', value) }
}

export const redditModule = defineCodeGrantPlatform({
  spec: redditSpec,
  wire: REDDIT_WIRE,
  clientAuth: (config) => rawBasicAuth(config.clientId, config.clientSecret),
  account: {
    url: (config) => config.urls.userinfo,
    pick (body) {
      const id = idString(body.id)
      return id === undefined ? undefined : { id, username: optionalString(body.name) }
    }
  },
  async revoke (oauth, url, { accessToken, refreshToken }) {
    // Revoking the refresh token revokes the access tokens issued from it too.
    const [token, hint] = refreshToken === undefined ? [accessToken, 'access_token'] : [refreshToken, 'refresh_token']
    return await revokeToken(oauth, url, token, { token_type_hint: hint })
  }
})
