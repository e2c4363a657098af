// TikTok Login Kit v2: `client_key` instead of client_id, comma-separated scopes, PKCE S256, client
// credentials in the form body, refresh tokens that rotate (the old one stops working at once).
// @see https://developers.tiktok.com/doc/oauth-user-access-token-management
import type { ClientAuth } from 'openid-client'
import { idString, optionalString } from './account-lookup.js'
import { defineCodeGrantPlatform } from './define-platform.js'
import { revokeToken } from './oauth-client.js'
import { HOUR_MS, type PlatformSpec } from './platform.js'

export const tiktokSpec = {
  name: 'tiktok',
  envPrefix: 'TIKTOK',
  clientIdVar: 'TIKTOK_CLIENT_KEY',
  defaultUrls: {
    authorize: 'https://www.tiktok.com/v2/auth/authorize/',
    token: 'https://open.tiktokapis.com/v2/oauth/token/',
    refresh: 'https://open.tiktokapis.com/v2/oauth/token/',
    revoke: 'https://open.tiktokapis.com/v2/oauth/revoke/',
    userinfo: 'https://open.tiktokapis.com/v2/user/info/',
    api: 'https://open.tiktokapis.com'
  },
  defaultScopes: ['user.info.basic'],
  defaultRefreshWindowMs: 12 * HOUR_MS,
  defaultRefreshConcurrency: 4
} as const satisfies PlatformSpec

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

export const tiktokModule = defineCodeGrantPlatform({
  spec: tiktokSpec,
  wire: TIKTOK_WIRE,
  clientAuth: (config) => tiktokBodyAuth(config.clientId, config.clientSecret),
  account: {
    url (config) {
      const url = new URL(config.urls.userinfo)
      url.searchParams.set('fields', TIKTOK_WIRE.userFields)
      return url.href
    },
    pick (body, tokenBody) {
      const openId = idString(tokenBody.open_id)
      const user = (body.data as { user?: Record<string, unknown> } | undefined)?.user
      const error = body.error as { code?: unknown } | undefined
      if (user === undefined || (error !== undefined && error.code !== 'ok')) return undefined
      const id = idString(user.open_id) ?? openId
      // The user answered must be the one the token was issued for (open_id from the token answer).
      if (id === undefined || (openId !== undefined && id !== openId)) return undefined
      return { id, username: optionalString(user.username) ?? optionalString(user.display_name) }
    }
  },
  revoke: async (oauth, url, { accessToken }) => await revokeToken(oauth, url, accessToken)
})
