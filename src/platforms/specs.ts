// Each platform's self-description: endpoints (real ones by default), scopes, refresh windows.
// Behaviour lives in the platform's module; this is the data config.ts needs to read its variables.
import type { PlatformSpec } from './platform.js'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login */
export const instagramSpec = {
  name: 'instagram',
  envPrefix: 'INSTAGRAM',
  clientIdVar: 'INSTAGRAM_CLIENT_ID',
  defaultUrls: {
    authorize: 'https://www.instagram.com/oauth/authorize',
    token: 'https://api.instagram.com/oauth/access_token',
    exchange: 'https://graph.instagram.com/access_token',
    refresh: 'https://graph.instagram.com/refresh_access_token',
    userinfo: 'https://graph.instagram.com/me'
    // No revocation endpoint for Instagram API with Instagram Login.
  },
  defaultScopes: ['instagram_business_basic', 'instagram_business_content_publish'],
  defaultRefreshWindowMs: 7 * DAY_MS,
  defaultRefreshConcurrency: 4,
  minRefreshAgeMs: DAY_MS
} as const satisfies PlatformSpec

/** @see https://developers.tiktok.com/doc/oauth-user-access-token-management */
export const tiktokSpec = {
  name: 'tiktok',
  envPrefix: 'TIKTOK',
  clientIdVar: 'TIKTOK_CLIENT_KEY',
  defaultUrls: {
    authorize: 'https://www.tiktok.com/v2/auth/authorize/',
    token: 'https://open.tiktokapis.com/v2/oauth/token/',
    refresh: 'https://open.tiktokapis.com/v2/oauth/token/',
    revoke: 'https://open.tiktokapis.com/v2/oauth/revoke/',
    userinfo: 'https://open.tiktokapis.com/v2/user/info/'
  },
  defaultScopes: ['user.info.basic'],
  defaultRefreshWindowMs: 12 * HOUR_MS,
  defaultRefreshConcurrency: 4
} as const satisfies PlatformSpec

/** @see https://github.com/reddit-archive/reddit/wiki/OAuth2 and https://support.reddithelp.com/hc/en-us/articles/16160319875092 (rate limits) */
export const redditSpec = {
  name: 'reddit',
  envPrefix: 'REDDIT',
  clientIdVar: 'REDDIT_CLIENT_ID',
  defaultUrls: {
    authorize: 'https://www.reddit.com/api/v1/authorize',
    token: 'https://www.reddit.com/api/v1/access_token',
    refresh: 'https://www.reddit.com/api/v1/access_token',
    revoke: 'https://www.reddit.com/api/v1/revoke_token',
    userinfo: 'https://oauth.reddit.com/api/v1/me'
  },
  defaultScopes: ['identity'],
  defaultRefreshWindowMs: 20 * MINUTE_MS,
  defaultRefreshConcurrency: 4,
  requestsPerMinute: 100
} as const satisfies PlatformSpec

export const PLATFORM_SPECS: readonly PlatformSpec[] = [instagramSpec, tiktokSpec, redditSpec]
