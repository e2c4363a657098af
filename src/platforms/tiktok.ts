// TikTok Login Kit v2: `client_key` instead of client_id, comma-separated scopes, PKCE S256, client
// credentials in the form body, refresh tokens that rotate (the old one stops working at once).
// @see https://developers.tiktok.com/doc/oauth-user-access-token-management
import { randomBytes } from 'node:crypto'
import { idString, optionalString } from './account-lookup.js'
import { defineCodeGrantPlatform } from './define-platform.js'
import { revokeToken } from './oauth-client.js'
import { HOUR_MS, type PlatformSpec } from './platform.js'
import type { CodeGrantWire } from './wire.js'

const tiktokSpec = {
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
const TIKTOK_WIRE = {
  clientIdParam: 'client_key',
  scopeSeparator: ',',
  pkce: true,
  /** `client_key` and `client_secret` as form fields, never HTTP Basic. */
  clientAuth: 'body',
  /** The user info fields asked for; `open_id` is the account id. */
  userFields: 'open_id,union_id,display_name,username'
} as const satisfies CodeGrantWire

const logId = (): string => `2026${randomBytes(10).toString('hex').toUpperCase()}`
const tiktokError = (error: string): Record<string, unknown> => ({ error, error_description: `fake: ${error}`, log_id: logId() })

export const tiktokModule = defineCodeGrantPlatform({
  spec: tiktokSpec,
  wire: TIKTOK_WIRE,
  // TikTok's answers: `{error, error_description, log_id}` errors, rotating refresh tokens with their
  // own refresh_expires_in (180 days now, 365 on older pages), open_id in the token answer, user info
  // as `{data: {user}, error: {code: 'ok'}}` with only the fields asked.
  simulation: {
    tokenPrefix: 'act',
    user: () => ({ id: `-000${randomBytes(8).toString('hex')}`, username: 'tiktok.fake' }),
    expiresInSec: 7_200,
    rotates: true,
    tokenType: 'Bearer',
    refreshExpiresInSec: 180 * 86_400,
    tokenAnswerUserField: 'open_id',
    errorBody: tiktokError,
    invalidClient: () => ({ status: 401, json: tiktokError('invalid_client') }),
    userinfo (user, fields) {
      const all: Record<string, string> = { open_id: user.id, union_id: `u-${user.id}`, display_name: 'Fake Display', username: user.username }
      return { data: { user: Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k))) }, error: { code: 'ok', message: '', log_id: logId() } }
    },
    userinfoRefused: () => ({ status: 401, json: { data: {}, error: { code: 'access_token_invalid', message: 'The access token is invalid or not found in the request.', log_id: logId() } } }),
    revokedStatus: 200,
    unknownTokenRevokeError: 'invalid_request',
    // A photo post's publish step. @see https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
    publish: {
      path: '/v2/post/publish/content/init/',
      answer: (id) => ({ data: { publish_id: `p_pub_url~v2.${id}` }, error: { code: 'ok', message: '', log_id: `2026${id.toUpperCase()}` } })
    }
  },
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
