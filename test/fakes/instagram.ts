// A fake Instagram (API with Instagram Login): the code exchange in either documented shape (flat or
// `{data:[…]}`, switchable), the long-lived exchange (ig_exchange_token), refresh with the access token
// itself (ig_refresh_token), Graph error objects, /me. No revocation endpoint, like the real one.
// @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import type { Fault, RecordedRequest, Reply, RouteContext } from './fake-server.js'
import { OAuthFake, type OAuthFakeOptions } from './oauth-fake.js'
import type { TokenRecord } from './token-ledger.js'

const GRAPH_MESSAGES: Readonly<Record<number, string>> = {
  1: 'An unknown error occurred',
  2: 'An unexpected error has occurred. Please retry your request later.',
  4: 'Application request limit reached',
  17: 'User request limit reached',
  190: 'Error validating access token: Session has expired',
  341: 'Application limit reached'
}

export function graphError (code: number, status = 400): Reply {
  const error = { message: GRAPH_MESSAGES[code] ?? 'Invalid parameter', type: 'OAuthException', code, fbtrace_id: randomBytes(8).toString('base64url') }
  return { status, json: { error } }
}

export class InstagramFake extends OAuthFake {
  protected readonly envPrefix = 'INSTAGRAM'
  protected readonly clientIdVar = 'INSTAGRAM_CLIENT_ID'
  protected readonly paths = {
    AUTHORIZE: '/oauth/authorize',
    TOKEN: '/oauth/access_token',
    EXCHANGE: '/access_token',
    REFRESH: '/refresh_access_token',
    USERINFO: '/me'
  }

  /** Which of the two documented code-exchange answers to give. */
  codeShape: 'flat' | 'data' = 'flat'
  /** Lifetime of a long-lived token (about 60 days). */
  longLivedExpiresInSec = 5_183_944

  /** Starts a fake Instagram, closed at `t`'s teardown. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<InstagramFake> {
    return await new InstagramFake(options).listen(t)
  }

  constructor (options: OAuthFakeOptions = {}) {
    super('instagram', 'IGQ', options, { rotate: false, expiresInSec: 3_600, user: { id: '17841400000000001', username: 'insta.fake' } })
    const s = this.server
    s.addRoute({ method: 'GET', path: this.paths.AUTHORIZE, endpoint: () => 'authorize', handle: ({ request }) => this.authorizeReply(request.query, 'client_id') })
    s.addRoute({ method: 'POST', path: this.paths.TOKEN, endpoint: () => 'code', handle: (ctx) => this.#code(ctx) })
    s.addRoute({ method: 'GET', path: this.paths.EXCHANGE, endpoint: () => 'exchange', handle: (ctx) => this.#exchange(ctx) })
    s.addRoute({ method: 'GET', path: this.paths.REFRESH, endpoint: () => 'refresh', handle: (ctx) => this.#refresh(ctx) })
    s.addRoute({ method: 'GET', path: this.paths.USERINFO, endpoint: () => 'userinfo', handle: (ctx) => this.#me(ctx) })
  }

  /** Instagram refreshes with the long-lived access token itself. */
  protected presentedCredential (request: RecordedRequest): string | undefined { return request.query.access_token }

  /** A long-lived token as if the user had connected (Instagram has no refresh token). */
  override seedGrant (user = this.user, scopes: readonly string[] = []): { accessToken: string, refreshToken?: undefined, user: typeof user } {
    return { accessToken: this.ledger.issue(user, scopes, { refresh: false }).accessToken, user }
  }

  /** Faults every Instagram endpoint shapes the same way (Graph errors). */
  #faultReply (fault: Fault | undefined): Reply | undefined {
    switch (fault?.kind) {
      case 'graph_error': return graphError(fault.code, fault.status)
      case 'invalid_grant': return graphError(190)
      case 'oauth_error': return graphError(100, fault.status)
      case 'error_in_200': return { status: 200, json: { error: { message: fault.error, type: 'OAuthException', code: 1 } } }
      default: return undefined
    }
  }

  #code ({ request, fault }: RouteContext): Reply {
    const injected = this.#faultReply(fault)
    if (injected !== undefined) return injected
    const { form } = request
    if (form.client_id !== this.clientId || form.client_secret !== this.clientSecret) {
      return { status: 400, json: { error_type: 'OAuthException', code: 400, error_message: 'Invalid platform app' } }
    }
    const code = this.ledger.takeCode(form.code)
    if (form.grant_type !== 'authorization_code' || code === undefined || code.redirectUri !== form.redirect_uri) {
      return { status: 400, json: { error_type: 'OAuthException', code: 400, error_message: 'Invalid authorization code' } }
    }
    const { accessToken } = this.ledger.issue(code.user, code.scopes, { refresh: false, kind: 'short_lived' })
    const entry = { access_token: accessToken, user_id: code.user.id, permissions: code.scopes.join(',') }
    return { status: 200, json: this.codeShape === 'flat' ? entry : { data: [entry] } }
  }

  #longLived (record: TokenRecord, fault: Fault | undefined): Reply {
    const { accessToken } = this.ledger.issue(record.user, record.scopes, { refresh: false })
    const json: Record<string, unknown> = { access_token: accessToken, token_type: 'bearer', expires_in: this.longLivedExpiresInSec }
    if (fault?.kind === 'expires_in') {
      if (fault.value === undefined) delete json.expires_in
      else json.expires_in = fault.value
    }
    return { status: 200, json }
  }

  #exchange ({ request, fault }: RouteContext): Reply {
    const injected = this.#faultReply(fault)
    if (injected !== undefined) return injected
    const { query } = request
    if (query.grant_type !== 'ig_exchange_token' || query.client_secret !== this.clientSecret) return graphError(100)
    const record = this.ledger.find(query.access_token, ['short_lived'])
    if (record === undefined) return graphError(190)
    return this.#longLived(record, fault)
  }

  #refresh ({ request, fault }: RouteContext): Reply {
    const injected = this.#faultReply(fault)
    if (injected !== undefined) return injected
    if (request.query.grant_type !== 'ig_refresh_token') return graphError(100)
    // Only an unexpired long-lived token can be refreshed (a short-lived one cannot).
    const record = this.ledger.find(request.query.access_token, ['access'])
    if (record === undefined) return graphError(190)
    return this.#longLived(record, fault)
  }

  #me ({ request, fault }: RouteContext): Reply {
    const injected = this.#faultReply(fault)
    if (injected !== undefined) return injected
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1]
    const record = this.ledger.find(bearer ?? request.query.access_token, ['access', 'short_lived'])
    if (record === undefined) return graphError(190)
    const all: Record<string, string> = { user_id: record.user.id, username: record.user.username, id: `app-scoped-${record.user.id}` }
    const fields = (request.query.fields ?? 'id').split(',')
    return { status: 200, json: Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k) || k === 'id')) }
  }
}
