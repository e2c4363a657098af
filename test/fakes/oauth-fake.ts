// What the fake providers share: the server and its switches, the token ledger, the user the
// next authorization signs in as, a browser-like walk through the authorize step, and env().
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { FakeServer, redirect, type Fault, type RecordedRequest, type Reply, type Route } from './fake-server.js'
import { TokenLedger, type CodeRecord, type FakeUser, type IssuedTokens } from './token-ledger.js'

export type Env = Record<string, string | undefined>

export interface OAuthFakeOptions {
  readonly clientId?: string
  readonly clientSecret?: string
  readonly redirectUri?: string
  readonly user?: FakeUser
  /** Whether a refresh returns a new refresh token and invalidates the one presented. */
  readonly rotate?: boolean
  readonly expiresInSec?: number
}

/** One line of a fake's route table; its endpoint name is its key unless it depends on the request. */
export interface RouteEntry {
  readonly method: string
  readonly path: string
  readonly handle: Route['handle']
  readonly endpoint?: Route['endpoint']
}

/** The OAuth token endpoint answers both grants: recorded as `code` or `refresh` by grant_type. */
export const byGrantType: Route['endpoint'] = (r) => r.form.grant_type === 'refresh_token' ? 'refresh' : 'code'

/** The `expires_in` fault applied to a success answer (`undefined` drops the field). */
export function withExpiresInFault (reply: Reply, fault: Fault | undefined): Reply {
  if (fault?.kind !== 'expires_in' || reply.status !== 200) return reply
  const json = { ...(reply.json as Record<string, unknown>) }
  if (fault.value === undefined) delete json.expires_in
  else json.expires_in = fault.value
  return { ...reply, json }
}

export abstract class OAuthFake {
  readonly server = new FakeServer()
  readonly ledger: TokenLedger
  readonly clientId: string
  /** Random per fake: a canary for "no secret in any log line or error". */
  readonly clientSecret: string
  readonly redirectUri: string
  /** Who the next authorization signs in as. */
  user: FakeUser
  rotate: boolean
  expiresInSec: number
  /** The next authorizations answer `error=access_denied` (the user clicked "Deny"). */
  denyNext = 0

  constructor (readonly platform: string, prefix: string, options: OAuthFakeOptions, defaults: { rotate: boolean, expiresInSec: number, user: FakeUser }) {
    this.ledger = new TokenLedger(prefix)
    // `-` and `_` on purpose: a form-encoded Basic header would turn them into %2D / %5F.
    this.clientId = options.clientId ?? `${prefix}-client_id-${randomBytes(3).toString('hex')}`
    this.clientSecret = options.clientSecret ?? `${prefix}-secret-CANARY-${randomBytes(9).toString('hex')}`
    this.redirectUri = options.redirectUri ?? `https://app.example.test/api/auth/${platform}/callback`
    this.user = options.user ?? defaults.user
    this.rotate = options.rotate ?? defaults.rotate
    this.expiresInSec = options.expiresInSec ?? defaults.expiresInSec
    this.server.onRequest = (request) => { if (request.endpoint === 'refresh') this.ledger.countPresentation(this.presentedCredential(request)) }
  }

  /** The env prefix of the platform's variables (`REDDIT`). */
  protected abstract readonly envPrefix: string
  protected abstract readonly clientIdVar: string
  /** Path of each endpoint on this server, by `<P>_<NAME>_URL` name. */
  protected abstract readonly paths: Readonly<Record<string, string>>
  /** The credential a refresh request presents (refresh token, or Instagram's access token). */
  protected abstract presentedCredential (request: RecordedRequest): string | undefined

  get url (): string { return this.server.url }
  get requests (): RecordedRequest[] { return this.server.requests }
  get latencyMs (): number { return this.server.latencyMs }
  set latencyMs (value: number) { this.server.latencyMs = value }

  /** The fake's route table, by endpoint name. */
  protected routes (table: Readonly<Record<string, RouteEntry>>): void {
    for (const [name, entry] of Object.entries(table)) {
      this.server.addRoute({ method: entry.method, path: entry.path, endpoint: entry.endpoint ?? (() => name), handle: entry.handle })
    }
  }

  /** Starts listening; with `t`, closes at teardown. */
  async listen (t?: Test): Promise<this> {
    await this.server.listen()
    t?.teardown(() => this.close())
    return this
  }

  async close (): Promise<void> { await this.server.close() }

  failNext (endpoint: string, fault: Fault, count = 1): void { this.server.failNext(endpoint, fault, count) }
  requestsTo (endpoint: string): RecordedRequest[] { return this.server.requestsTo(endpoint) }

  /** Valid tokens for `user` as if they had connected, for refresh tests (no authorize step). */
  seedGrant (user: FakeUser = this.user, scopes: readonly string[] = []): IssuedTokens {
    return this.ledger.issue(user, scopes)
  }

  timesPresented (credential: string): number { return this.ledger.timesPresented(credential) }
  isValid (token: string): boolean { return this.ledger.isValid(token) }

  /** The env overrides pointing the service's `<P>_*` variables at this fake. */
  env (): Env {
    const p = this.envPrefix
    const env: Env = { [this.clientIdVar]: this.clientId, [`${p}_CLIENT_SECRET`]: this.clientSecret, [`${p}_REDIRECT_URI`]: this.redirectUri }
    for (const [name, path] of Object.entries(this.paths)) env[`${p}_${name}_URL`] = `${this.url}${path}`
    return env
  }

  /**
   * What a browser does with the service's authorize URL: GETs it from this fake and returns the
   * redirect it answers (to the redirect URI with `code` and `state`, or `error=access_denied`).
   */
  async authorize (authorizeUrl: string | URL): Promise<URL> {
    const response = await fetch(authorizeUrl, { redirect: 'manual' })
    await response.arrayBuffer()
    const location = response.headers.get('location')
    if (response.status !== 302 || location === null) throw new Error(`authorize step answered ${response.status}`)
    return new URL(location)
  }

  /** The authorize step's answer: checks the client and redirect URI, then redirects back. */
  protected authorizeReply (query: Readonly<Record<string, string>>, clientIdParam: string, extra: Pick<CodeRecord, 'codeChallenge' | 'codeChallengeMethod' | 'noRefreshToken'> = {}): Reply {
    const redirectUri = query.redirect_uri
    // A wrong client or redirect URI is shown as an error page by real providers: never redirected.
    if (query[clientIdParam] !== this.clientId || redirectUri !== this.redirectUri || query.response_type !== 'code') {
      return { status: 400, headers: { 'content-type': 'text/html' }, text: '<html><body>invalid client or redirect_uri</body></html>' }
    }
    const back = new URL(redirectUri)
    if (query.state !== undefined) back.searchParams.set('state', query.state)
    if (this.denyNext > 0) {
      this.denyNext--
      back.searchParams.set('error', 'access_denied')
      back.searchParams.set('error_description', 'The user denied the request')
      return redirect(back.href)
    }
    const scopes = (query.scope ?? '').split(/[\s,]+/).filter((s) => s !== '')
    back.searchParams.set('code', this.ledger.issueCode({ user: this.user, redirectUri, scopes, ...extra }))
    return redirect(back.href)
  }
}
