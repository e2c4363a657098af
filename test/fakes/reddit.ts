// A fake Reddit speaking its OAuth2 wire format: raw HTTP Basic client auth, `duration=permanent`,
// a descriptive User-Agent or 429, `{"error": …}` bodies (also in HTTP 200 on demand), optional rotation.
// @see https://github.com/reddit-archive/reddit/wiki/OAuth2
import { Buffer } from 'node:buffer'
import type { Test } from 'tap'
import type { RecordedRequest, Reply, RouteContext } from './fake-server.js'
import { byGrantType, OAuthFake, withExpiresInFault, type OAuthFakeOptions } from './oauth-fake.js'
import type { TokenRecord } from './token-ledger.js'

const UNAUTHORIZED: Reply = { status: 401, json: { message: 'Unauthorized', error: 401 } }

export class RedditFake extends OAuthFake {
  protected readonly envPrefix = 'REDDIT'
  protected readonly clientIdVar = 'REDDIT_CLIENT_ID'
  protected readonly paths = {
    AUTHORIZE: '/api/v1/authorize',
    TOKEN: '/api/v1/access_token',
    REFRESH: '/api/v1/access_token',
    REVOKE: '/api/v1/revoke_token',
    USERINFO: '/api/v1/me'
  }

  /** Starts a fake Reddit, closed at `t`'s teardown. Reddit does not rotate by default. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<RedditFake> {
    return await new RedditFake(options).listen(t)
  }

  constructor (options: OAuthFakeOptions = {}) {
    super('reddit', 'rdt', options, { rotate: false, expiresInSec: 86_400, user: { id: 'k3x9q2', username: 'spez_fake' } })
    this.routes({
      authorize: { method: 'GET', path: this.paths.AUTHORIZE, handle: ({ request }) => this.#authorize(request) },
      token: { method: 'POST', path: this.paths.TOKEN, endpoint: byGrantType, handle: (ctx) => this.#token(ctx) },
      revoke: { method: 'POST', path: this.paths.REVOKE, handle: ({ request }) => this.#revoke(request) },
      userinfo: { method: 'GET', path: this.paths.USERINFO, handle: (ctx) => this.#me(ctx) }
    })
  }

  protected presentedCredential (request: RecordedRequest): string | undefined { return request.form.refresh_token }

  /** The exact header Reddit expects: Basic base64(`id:secret`), NOT form-encoded first. */
  expectedBasic (): string { return `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}` }

  #authorize (request: RecordedRequest): Reply {
    return this.authorizeReply(request.query, 'client_id', { noRefreshToken: request.query.duration !== 'permanent' })
  }

  /** Reddit throttles generic user agents; a descriptive one is required. */
  #badUserAgent (request: RecordedRequest): boolean {
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

  #code (request: RecordedRequest): Reply {
    if (request.form.grant_type !== 'authorization_code') return { status: 400, json: { error: 'unsupported_grant_type' } }
    const code = this.ledger.takeCode(request.form.code)
    if (code === undefined || code.redirectUri !== request.form.redirect_uri) return { status: 400, json: { error: 'invalid_grant' } }
    return this.#success(this.ledger.issue(code.user, code.scopes, { refresh: code.noRefreshToken !== true }), code.scopes)
  }

  #refresh (request: RecordedRequest): Reply {
    const presented = request.form.refresh_token
    const record = this.ledger.find(presented, ['refresh'])
    if (presented === undefined || record === undefined) return { status: 400, json: { error: 'invalid_grant' } }
    if (this.rotate) {
      this.ledger.invalidate(presented)
      return this.#success(this.ledger.issue(record.user, record.scopes), record.scopes)
    }
    // Without rotation Reddit answers a new access token and no refresh_token field.
    const issued = this.ledger.issue(record.user, record.scopes, { refresh: false })
    return this.#success({ accessToken: issued.accessToken }, record.scopes)
  }

  #success (tokens: { accessToken: string, refreshToken?: string | undefined }, scopes: readonly string[]): Reply {
    const json: Record<string, unknown> = { access_token: tokens.accessToken, token_type: 'bearer', expires_in: this.expiresInSec, scope: scopes.join(' ') }
    if (tokens.refreshToken !== undefined) json.refresh_token = tokens.refreshToken
    return { status: 200, json }
  }

  #revoke (request: RecordedRequest): Reply {
    if (request.headers.authorization !== this.expectedBasic()) return UNAUTHORIZED
    const token = request.form.token
    if (token !== undefined) this.ledger.revokeGrant(token)
    // RFC 7009: an unknown token is not an error. Reddit answers 204.
    return { status: 204 }
  }

  #me ({ request, fault }: RouteContext): Reply {
    // Any platform-shaped fault on the account lookup: the token is refused.
    if (fault !== undefined) return UNAUTHORIZED
    const match = /^bearer (.+)$/i.exec(request.headers.authorization ?? '')
    const record: TokenRecord | undefined = this.ledger.find(match?.[1])
    if (record === undefined) return UNAUTHORIZED
    return { status: 200, json: { id: record.user.id, name: record.user.username, is_employee: false, created_utc: 1_500_000_000 } }
  }
}
