// TikTok's Login Kit v2 wire: `client_key`, comma-separated scopes, PKCE S256 checked at the code
// exchange, client credentials in the form body, rotating refresh tokens (the old one is then
// invalid_grant), `{error, error_description, log_id}` errors, /v2/user/info/ and /v2/oauth/revoke/.
// @see https://developers.tiktok.com/doc/oauth-user-access-token-management
import { randomBytes } from 'node:crypto'
import { OAuthProvider, type CodeExtras, type ProviderAddress, type ProviderOptions } from './oauth-provider.js'
import { s256, type FakeUser } from './token-ledger.js'
import { byGrantType, routeTable, withExpiresInFault, type Reply, type Route, type RouteContext, type WireRequest } from './wire.js'

const logId = (): string => `2026${randomBytes(10).toString('hex').toUpperCase()}`
const TOKEN_INVALID = (): Reply => ({ status: 401, json: { data: {}, error: { code: 'access_token_invalid', message: 'The access token is invalid or not found in the request.', log_id: logId() } } })

function oauthError (error: string, status = 400): Reply {
  return { status, json: { error, error_description: `fake: ${error}`, log_id: logId() } }
}

export const TIKTOK_ADDRESS: ProviderAddress = {
  platform: 'tiktok',
  envPrefix: 'TIKTOK',
  clientIdVar: 'TIKTOK_CLIENT_KEY',
  paths: {
    AUTHORIZE: '/v2/auth/authorize/',
    TOKEN: '/v2/oauth/token/',
    REFRESH: '/v2/oauth/token/',
    REVOKE: '/v2/oauth/revoke/',
    USERINFO: '/v2/user/info/',
    // The API's base (open.tiktokapis.com): its account endpoint is USERINFO, its write PUBLISH_INIT.
    API: ''
  }
}
/** The API's write: a photo post's publish step. @see https://developers.tiktok.com/doc/content-posting-api-reference-photo-post */
export const TIKTOK_PUBLISH_PATH = '/v2/post/publish/content/init/'
const PATHS = TIKTOK_ADDRESS.paths as Record<'AUTHORIZE' | 'TOKEN' | 'REVOKE' | 'USERINFO', string>

export class TiktokProvider extends OAuthProvider {
  static readonly address = TIKTOK_ADDRESS
  /** refresh_expires_in of every answer (TikTok documents 180 days now, 365 on older pages). */
  refreshExpiresInSec = 180 * 86_400
  readonly routes: readonly Route[] = routeTable({
    authorize: { method: 'GET', path: PATHS.AUTHORIZE, handle: ({ request }) => this.authorizeReply(request) },
    token: { method: 'POST', path: PATHS.TOKEN, endpoint: byGrantType, handle: (ctx) => this.#token(ctx) },
    revoke: { method: 'POST', path: PATHS.REVOKE, handle: ({ request }) => this.#revoke(request) },
    userinfo: { method: 'GET', path: PATHS.USERINFO, handle: (ctx) => this.#userInfo(ctx) },
    publish: { method: 'POST', path: TIKTOK_PUBLISH_PATH, handle: ({ request }) => this.#publish(request) }
  })

  /** It rotates refresh tokens by default, as TikTok does. */
  constructor (options: ProviderOptions = {}) {
    const user: FakeUser = { id: `-000${randomBytes(8).toString('hex')}`, username: 'tiktok.fake' }
    super(TIKTOK_ADDRESS, 'act', options, { rotate: true, expiresInSec: 7_200, user })
  }

  protected override get clientIdParam (): string { return 'client_key' }

  presentedCredential (request: WireRequest): string | undefined { return request.form.refresh_token }

  protected override authorizeExtras (query: Readonly<Record<string, string>>): CodeExtras | Reply {
    const { code_challenge: codeChallenge, code_challenge_method: method } = query
    if (codeChallenge !== undefined && method !== 'S256') return { status: 400, text: 'unsupported code_challenge_method' }
    return { codeChallenge, codeChallengeMethod: method }
  }

  #clientOk (request: WireRequest): boolean {
    return request.form.client_key === this.clientId && request.form.client_secret === this.clientSecret
  }

  #token ({ request, fault }: RouteContext): Reply {
    if (!this.#clientOk(request)) return oauthError('invalid_client', 401)
    switch (fault?.kind) {
      case 'invalid_grant': return oauthError('invalid_grant')
      case 'oauth_error': return oauthError(fault.error, fault.status)
      case 'error_in_200': return oauthError(fault.error, 200)
    }
    return withExpiresInFault(request.form.grant_type === 'refresh_token' ? this.#refresh(request) : this.#code(request), fault)
  }

  #code (request: WireRequest): Reply {
    if (request.form.grant_type !== 'authorization_code') return oauthError('unsupported_grant_type')
    const code = this.ledger.takeCode(request.form.code)
    if (code === undefined || code.redirectUri !== request.form.redirect_uri) return oauthError('invalid_grant')
    // PKCE: the verifier must hash to the challenge the authorize step saw (RFC 7636 §4.6). TikTok
    // answers a mismatch with invalid_request "Code verifier or code challenge is invalid."
    if (code.codeChallenge !== undefined && s256(request.form.code_verifier ?? '') !== code.codeChallenge) {
      return { status: 400, json: { error: 'invalid_request', error_description: 'Code verifier or code challenge is invalid.', log_id: logId() } }
    }
    return this.#success(this.ledger.issue(code.user, code.scopes, { expiresInSec: this.expiresInSec }), code.user, code.scopes)
  }

  #refresh (request: WireRequest): Reply {
    const presented = request.form.refresh_token
    const record = this.ledger.find(presented, ['refresh'])
    if (presented === undefined || record === undefined) return oauthError('invalid_grant')
    // TikTok rotates: "The previous refresh token stops working once a new one is issued."
    if (this.rotate) this.ledger.invalidate(presented)
    const issued = this.ledger.issue(record.user, record.scopes, { refresh: this.rotate, expiresInSec: this.expiresInSec })
    return this.#success({ accessToken: issued.accessToken, refreshToken: issued.refreshToken ?? presented }, record.user, record.scopes)
  }

  #success (tokens: { accessToken: string, refreshToken?: string | undefined }, user: FakeUser, scopes: readonly string[]): Reply {
    return {
      status: 200,
      json: {
        access_token: tokens.accessToken,
        expires_in: this.expiresInSec,
        open_id: user.id,
        refresh_expires_in: this.refreshExpiresInSec,
        refresh_token: tokens.refreshToken,
        scope: scopes.join(','),
        token_type: 'Bearer'
      }
    }
  }

  #revoke (request: WireRequest): Reply {
    if (!this.#clientOk(request)) return oauthError('invalid_client', 401)
    const token = request.form.token
    if (token === undefined || !this.ledger.revokeGrant(token)) return oauthError('invalid_request')
    return { status: 200, json: {} }
  }

  #userInfo ({ request, fault }: RouteContext): Reply {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')
    // Any provider-shaped fault on the account lookup: the token is refused.
    const record = fault === undefined ? this.ledger.findLive(match?.[1]) : undefined
    if (record === undefined) return TOKEN_INVALID()
    const all: Record<string, string> = { open_id: record.user.id, union_id: `u-${record.user.id}`, display_name: 'Fake Display', username: record.user.username }
    const fields = (request.query.fields ?? '').split(',')
    const user = Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k)))
    return { status: 200, json: { data: { user }, error: { code: 'ok', message: '', log_id: logId() } } }
  }

  /** The publish step of a post: a `publish_id` in TikTok's `{data, error}` envelope. */
  #publish (request: WireRequest): Reply {
    const record = this.ledger.findLive(/^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1])
    if (record === undefined) return TOKEN_INVALID()
    const id = this.publish(record.user.id, request)
    return { status: 200, json: { data: { publish_id: `p_pub_url~v2.${id}` }, error: { code: 'ok', message: '', log_id: logId() } } }
  }
}
