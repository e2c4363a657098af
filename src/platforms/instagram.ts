// Instagram API with Instagram Login, on the Graph wire (graph-platform.ts): two documented shapes
// of the code answer, a long-lived token (ig_exchange_token) refreshed with itself (ig_refresh_token)
// once 24 h old, no revocation endpoint.
// @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
import { idString, optionalString } from './account-lookup.js'
import { defineGraphPlatform } from './graph-platform.js'
import { DAY_MS, type PlatformSpec } from './platform.js'
import type { GraphWire } from './wire.js'

const instagramSpec = {
  name: 'instagram',
  envPrefix: 'INSTAGRAM',
  clientIdVar: 'INSTAGRAM_CLIENT_ID',
  defaultUrls: {
    authorize: 'https://www.instagram.com/oauth/authorize',
    token: 'https://api.instagram.com/oauth/access_token',
    exchange: 'https://graph.instagram.com/access_token',
    refresh: 'https://graph.instagram.com/refresh_access_token',
    userinfo: 'https://graph.instagram.com/me',
    api: 'https://graph.instagram.com'
  },
  defaultScopes: ['instagram_business_basic', 'instagram_business_content_publish'],
  defaultRefreshWindowMs: 7 * DAY_MS,
  defaultRefreshConcurrency: 4,
  minRefreshAgeMs: DAY_MS,
  accessTokenIsGrant: true
} as const satisfies PlatformSpec

/** Instagram's quirks, in its own wire names. */
const INSTAGRAM_WIRE = {
  clientIdParam: 'client_id',
  scopeSeparator: ',',
  pkce: false,
  exchangeGrantType: 'ig_exchange_token',
  refreshGrantType: 'ig_refresh_token',
  userFields: 'user_id,username'
} as const satisfies GraphWire

export const instagramModule = defineGraphPlatform({
  spec: instagramSpec,
  wire: INSTAGRAM_WIRE,
  simulation: {
    tokenPrefix: 'IGQ',
    user: () => ({ id: '17841400000000001', username: 'insta.fake' }),
    expiresInSec: 3_600,
    // user_id is the professional account id; `id` is app-scoped.
    meFields: (user) => ({ user_id: user.id, username: user.username, id: `app-scoped-${user.id}` }),
    codeAnswerListsPermissions: true,
    // A media container (the first step of a publish). @see https://developers.facebook.com/docs/instagram-platform/content-publishing
    publish: { path: '/me/media', answer: (id) => ({ id }) }
  },
  pickAccount (body, codeEntry) {
    // /me's user_id is the professional account id the Graph API acts on; fall back to the others.
    const id = idString(body.user_id) ?? idString(body.id) ?? idString(codeEntry.user_id)
    return id === undefined ? undefined : { id, username: optionalString(body.username) }
  }
})
