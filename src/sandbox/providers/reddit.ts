// Reddit's OAuth2 wire: raw HTTP Basic client auth, `duration=permanent`, a descriptive User-Agent or
// 429, `{"error": …}` bodies (also in HTTP 200 on demand), optional rotation.
// @see https://github.com/reddit-archive/reddit/wiki/OAuth2
import { Buffer } from 'node:buffer'
import { OAuthProvider, type CodeExtras, type ProviderAddress, type ProviderOptions } from './oauth-provider.js'
import type { TokenRecord } from './token-ledger.js'
import { byGrantType, routeTable, withExpiresInFault, type Reply, type Route, type RouteContext, type WireRequest } from './wire.js'

const UNAUTHORIZED: Reply = { status: 401, json: { message: 'Unauthorized', error: 401 } }

export const REDDIT_ADDRESS: ProviderAddress = {
  platform: 'reddit',
  envPrefix: 'REDDIT',
  clientIdVar: 'REDDIT_CLIENT_ID',
  paths: {
    AUTHORIZE: '/api/v1/authorize',
    TOKEN: '/api/v1/access_token',
    REFRESH: '/api/v1/access_token',
    REVOKE: '/api/v1/revoke_token',
    USERINFO: '/api/v1/me',
    // The API's base (oauth.reddit.com): its account endpoint is USERINFO, its write is SUBMIT.
    API: ''
  }
}
const PATHS = REDDIT_ADDRESS.paths as Record<'AUTHORIZE' | 'TOKEN' | 'REVOKE' | 'USERINFO', string>
/** The API's write: a new post. @see https://www.reddit.com/dev/api/#POST_api_submit */
export const REDDIT_SUBMIT_PATH = '/api/submit'

export class RedditProvider extends OAuthProvider {
  static readonly address = REDDIT_ADDRESS
  readonly routes: readonly Route[] = routeTable({
    authorize: { method: 'GET', path: PATHS.AUTHORIZE, handle: ({ request }) => this.authorizeReply(request) },
    token: { method: 'POST', path: PATHS.TOKEN, endpoint: byGrantType, handle: (ctx) => this.#token(ctx) },
    revoke: { method: 'POST', path: PATHS.REVOKE, handle: ({ request }) => this.#revoke(request) },
    userinfo: { method: 'GET', path: PATHS.USERINFO, handle: (ctx) => this.#me(ctx) },
    submit: { method: 'POST', path: REDDIT_SUBMIT_PATH, handle: ({ request }) => this.#submit(request) }
  })

  /** Reddit does not rotate by default. */
  constructor (options: ProviderOptions = {}) {
    super(REDDIT_ADDRESS, 'rdt', options, { rotate: false, expiresInSec: 86_400, user: { id: 'k3x9q2', username: 'spez_fake' } })
  }

  presentedCredential (request: WireRequest): string | undefined { return request.form.refresh_token }

  /** The exact header Reddit expects: Basic base64(`id:secret`), NOT form-encoded first. */
  expectedBasic (): string { return `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}` }

  protected override authorizeExtras (query: Readonly<Record<string, string>>): CodeExtras {
    return { noRefreshToken: query.duration !== 'permanent' }
  }

  /** Reddit throttles generic user agents; a descriptive one is required. */
  #badUserAgent (request: WireRequest): boolean {
    const ua = request.headers['user-agent'] ?? ''
    return ua === '' || ua === 'node' || ua.startsWith('undici')
  }

  #token ({ request, fault }: RouteContext): Reply {
    if (this.#badUserAgent(request)) return { status: 429, json: { message: 'Too Many Requests', error: 429 } }
    if (request.headers.authorization !== this.expectedBasic()) return UNAUTHORIZED
    switch (fault?.kind) {
      case 'invalid_grant': return { status: 400, json: { error: 'invalid_grant' } }
      case 'oauth_error': return { status: fault.status ?? 400, json: { error: fault.error } }
      case 'error_in_200': return { status: 200, json: { error: fault.error } }
    }
    return withExpiresInFault(request.form.grant_type === 'refresh_token' ? this.#refresh(request) : this.#code(request), fault)
  }

  #code (request: WireRequest): Reply {
    if (request.form.grant_type !== 'authorization_code') return { status: 400, json: { error: 'unsupported_grant_type' } }
    const code = this.ledger.takeCode(request.form.code)
    if (code === undefined || code.redirectUri !== request.form.redirect_uri) return { status: 400, json: { error: 'invalid_grant' } }
    return this.#success(this.ledger.issue(code.user, code.scopes, { refresh: code.noRefreshToken !== true, expiresInSec: this.expiresInSec }), code.scopes)
  }

  #refresh (request: WireRequest): Reply {
    const presented = request.form.refresh_token
    const record = this.ledger.find(presented, ['refresh'])
    if (presented === undefined || record === undefined) return { status: 400, json: { error: 'invalid_grant' } }
    if (this.rotate) {
      this.ledger.invalidate(presented)
      return this.#success(this.ledger.issue(record.user, record.scopes, { expiresInSec: this.expiresInSec }), record.scopes)
    }
    // Without rotation Reddit answers a new access token and no refresh_token field.
    const issued = this.ledger.issue(record.user, record.scopes, { refresh: false, expiresInSec: this.expiresInSec })
    return this.#success({ accessToken: issued.accessToken }, record.scopes)
  }

  #success (tokens: { accessToken: string, refreshToken?: string | undefined }, scopes: readonly string[]): Reply {
    const json: Record<string, unknown> = { access_token: tokens.accessToken, token_type: 'bearer', expires_in: this.expiresInSec, scope: scopes.join(' ') }
    if (tokens.refreshToken !== undefined) json.refresh_token = tokens.refreshToken
    return { status: 200, json }
  }

  #revoke (request: WireRequest): Reply {
    if (request.headers.authorization !== this.expectedBasic()) return UNAUTHORIZED
    const token = request.form.token
    if (token !== undefined) this.ledger.revokeGrant(token)
    // RFC 7009: an unknown token is not an error. Reddit answers 204.
    return { status: 204 }
  }

  #me ({ request, fault }: RouteContext): Reply {
    // Any provider-shaped fault on the account lookup: the token is refused.
    if (fault !== undefined) return UNAUTHORIZED
    const match = /^bearer (.+)$/i.exec(request.headers.authorization ?? '')
    const record: TokenRecord | undefined = this.ledger.findLive(match?.[1])
    if (record === undefined) return UNAUTHORIZED
    return { status: 200, json: { id: record.user.id, name: record.user.username, is_employee: false, created_utc: 1_500_000_000 } }
  }

  /** A self post (`kind=self`, `sr`, `title`, `text`), answered in Reddit's `{json: {errors, data}}` envelope. */
  #submit (request: WireRequest): Reply {
    if (this.#badUserAgent(request)) return { status: 429, json: { message: 'Too Many Requests', error: 429 } }
    const record = this.ledger.findLive(this.bearerOf(request))
    if (record === undefined) return UNAUTHORIZED
    const { sr, title } = request.form
    if (sr === undefined || title === undefined) return { status: 200, json: { json: { errors: [['BAD_SR_NAME', 'that subreddit does not exist', 'sr']] } } }
    const id = this.publish(record.user.id, request)
    return { status: 200, json: { json: { errors: [], data: { url: `https://www.reddit.com/r/${sr}/comments/${id}/`, id, name: `t3_${id}` } } } }
  }
}
