// Reddit: authorization code with duration=permanent, raw HTTP Basic client auth, a descriptive
// User-Agent, errors that may arrive in HTTP-200 bodies, refresh tokens that may or may not rotate.
// @see https://github.com/reddit-archive/reddit/wiki/OAuth2 and https://support.reddithelp.com/hc/en-us/articles/16160319875092 (rate limits)
import { idString, optionalString } from './account-lookup.js'
import { defineCodeGrantPlatform } from './define-platform.js'
import { revokeToken } from './oauth-client.js'
import { MINUTE_MS, type PlatformSpec } from './platform.js'
import type { CodeGrantWire } from './wire.js'

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
  // Tokens live 1 h. The cron runs every 30 min and a run may last 4 min: a token must be refreshed when
  // it expires within 34 min (REFRESH_INTERVAL_MS + REFRESH_RUN_BUDGET_MS), or it can lapse between two
  // runs. The default is that margin, so a default start raises nothing and warns about nothing.
  defaultRefreshWindowMs: 34 * MINUTE_MS,
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
  /** HTTP Basic with the raw `id:secret` (a form-encoded one is refused). */
  clientAuth: 'basic',
  /** Reddit announces its window's end in seconds in this header rather than in Retry-After. */
  rateLimitResetHeader: 'x-ratelimit-reset'
} as const satisfies CodeGrantWire

const UNAUTHORIZED = { status: 401, json: { message: 'Unauthorized', error: 401 } }

export const redditModule = defineCodeGrantPlatform({
  spec: redditSpec,
  wire: REDDIT_WIRE,
  // Reddit's answers: `{"error": …}` bodies, 401 `{message, error: 401}` for a wrong client or token,
  // a new access token and no refresh_token field unless rotation is switched on, 204 on revocation.
  simulation: {
    tokenPrefix: 'rdt',
    user: () => ({ id: 'k3x9q2', username: 'spez_fake' }),
    expiresInSec: 86_400,
    rotates: false,
    tokenType: 'bearer',
    errorBody: (error) => ({ error }),
    invalidClient: () => UNAUTHORIZED,
    userinfo: (user) => ({ id: user.id, name: user.username, is_employee: false, created_utc: 1_500_000_000 }),
    userinfoRefused: () => UNAUTHORIZED,
    revokedStatus: 204,
    requiresDescriptiveUserAgent: true,
    // A self post: Reddit's `{json: {errors, data}}` envelope. @see https://www.reddit.com/dev/api/#POST_api_submit
    publish: {
      path: '/api/submit',
      answer: (id, form) => ({ json: { errors: [], data: { url: `https://www.reddit.com/r/${form.sr ?? 'test'}/comments/${id}/`, id, name: `t3_${id}` } } })
    }
  },
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
