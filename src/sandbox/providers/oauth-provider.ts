// What every simulated provider shares: its registered client (id, secret, redirect URI), the token
// ledger, the user the next authorization signs in as, the authorize step split in two (the check,
// then the user's decision: the sandbox shows a consent page in between, the fakes decide at once),
// and the route table the servers carry.
import { randomBytes } from 'node:crypto'
import { platformVar, type URL_SETTINGS } from '../../platforms/env-names.js'
import { redirect, type Reply, type Route, type WireRequest } from './wire.js'
import { TokenLedger, type CodeRecord, type FakeUser, type IssuedTokens } from './token-ledger.js'

export type Env = Record<string, string | undefined>
type UrlName = typeof URL_SETTINGS[keyof typeof URL_SETTINGS]

export interface ProviderOptions {
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  readonly redirectUri?: string | undefined
  readonly user?: FakeUser | undefined
  /** Whether a refresh returns a new refresh token and invalidates the one presented. */
  readonly rotate?: boolean | undefined
  readonly expiresInSec?: number | undefined
}

/** What a provider's code carries beyond the user, scopes and redirect URI. */
export type CodeExtras = Pick<CodeRecord, 'codeChallenge' | 'codeChallengeMethod' | 'noRefreshToken'>

export type AuthorizeDecision = 'allow' | 'deny'

/** Where a provider's endpoints live, by `<P>_<NAME>_URL` name, and its service variables. */
export interface ProviderAddress {
  readonly platform: string
  /** The env prefix of the platform's variables (`REDDIT`). */
  readonly envPrefix: string
  readonly clientIdVar: string
  readonly paths: Readonly<Record<string, string>>
}

export abstract class OAuthProvider {
  readonly ledger: TokenLedger
  readonly clientId: string
  /** Random unless given: a canary for "no secret in any log line or error". */
  readonly clientSecret: string
  readonly redirectUri: string
  /** Who the next authorization signs in as. */
  user: FakeUser
  rotate: boolean
  expiresInSec: number
  /** The next authorizations answer `error=access_denied` (the user clicked "Deny"). */
  denyNext = 0
  /** The routes by method and path; the authorize route is named `authorize`. */
  abstract readonly routes: readonly Route[]
  /** What its API's write endpoint published, oldest first (the proxy's tests and the console read it). */
  readonly published: Array<{ readonly userId: string, readonly id: string, readonly body: string }> = []

  constructor (readonly address: ProviderAddress, prefix: string, options: ProviderOptions, defaults: { rotate: boolean, expiresInSec: number, user: FakeUser }) {
    this.ledger = new TokenLedger(prefix)
    // `-` and `_` on purpose: a form-encoded Basic header would turn them into %2D / %5F.
    this.clientId = options.clientId ?? `${prefix}-client_id-${randomBytes(3).toString('hex')}`
    this.clientSecret = options.clientSecret ?? `${prefix}-secret-CANARY-${randomBytes(9).toString('hex')}`
    this.redirectUri = options.redirectUri ?? `http://localhost/api/auth/${address.platform}/callback`
    this.user = options.user ?? defaults.user
    this.rotate = options.rotate ?? defaults.rotate
    this.expiresInSec = options.expiresInSec ?? defaults.expiresInSec
  }

  get platform (): string { return this.address.platform }

  /** The authorize request's name for the client id (TikTok: `client_key`). */
  protected get clientIdParam (): string { return 'client_id' }

  /** The credential a refresh request presents (refresh token, or Graph's access token). */
  abstract presentedCredential (request: WireRequest): string | undefined

  /** The provider's own checks of an authorize request and what its code carries, or its refusal. */
  protected authorizeExtras (_query: Readonly<Record<string, string>>): CodeExtras | Reply { return {} }

  /** Counts a refresh presentation as soon as the request arrives, whatever the answer turns out to be. */
  notePresentation (endpoint: string, request: WireRequest): void {
    if (endpoint === 'refresh') this.ledger.countPresentation(this.presentedCredential(request))
  }

  /** The route a request goes to, if any. */
  match (method: string, path: string): Route | undefined {
    return this.routes.find((r) => r.method === method && r.path === path)
  }

  /** Valid tokens for `user` as if they had connected, for refresh tests (no authorize step). */
  seedGrant (user: FakeUser = this.user, scopes: readonly string[] = []): IssuedTokens {
    return this.ledger.issue(user, scopes)
  }

  /** The bearer token of an API call (RFC 6750 §2.1); Graph also takes `access_token` in the query. */
  protected bearerOf (request: WireRequest): string | undefined {
    return /^Bearer[ ]+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
  }

  /** A write through the provider's API by the token's user: recorded, and its new id. */
  protected publish (userId: string, request: WireRequest): string {
    const id = randomBytes(6).toString('hex')
    this.published.push({ userId, id, body: request.body })
    return id
  }

  /** What a user removing the app in the provider's settings does: the grant behind `accessToken` dies. */
  revokeAccess (accessToken: string): boolean { return this.ledger.revokeGrant(accessToken) }

  timesPresented (credential: string): number { return this.ledger.timesPresented(credential) }
  isValid (token: string): boolean { return this.ledger.isValid(token) }

  /** The env pointing the service's `<P>_*` variables at this provider served from `baseUrl`. */
  envAt (baseUrl: string): Env {
    return providerEnv(this.address, baseUrl, { clientId: this.clientId, clientSecret: this.clientSecret, redirectUri: this.redirectUri })
  }

  /**
   * The authorize step up to the user's decision: undefined when the request may go on, else the
   * refusal. A wrong client or redirect URI is an error page at real providers, never a redirect.
   */
  checkAuthorize (query: Readonly<Record<string, string>>): Reply | undefined {
    const extras = this.authorizeExtras(query)
    if ('status' in extras) return extras
    if (query[this.clientIdParam] !== this.clientId || query.redirect_uri !== this.redirectUri || query.response_type !== 'code') {
      return { status: 400, headers: { 'content-type': 'text/html' }, text: '<html><body>invalid client or redirect_uri</body></html>' }
    }
    return undefined
  }

  /** The redirect back after the user's decision (call checkAuthorize first): a code, or access_denied. */
  decideAuthorize (query: Readonly<Record<string, string>>, decision: AuthorizeDecision): Reply {
    const refused = this.checkAuthorize(query)
    if (refused !== undefined) return refused
    const extras = this.authorizeExtras(query) as CodeExtras
    const back = new URL(this.redirectUri)
    if (query.state !== undefined) back.searchParams.set('state', query.state)
    if (decision === 'deny') {
      back.searchParams.set('error', 'access_denied')
      back.searchParams.set('error_description', 'The user denied the request')
      return redirect(back.href)
    }
    const scopes = (query.scope ?? '').split(/[\s,]+/).filter((s) => s !== '')
    back.searchParams.set('code', this.ledger.issueCode({ user: this.user, redirectUri: this.redirectUri, scopes, ...extras }))
    return redirect(back.href)
  }

  /** The authorize step decided at once (the fakes): allowed, unless `denyNext` says the user denies. */
  protected authorizeReply (request: WireRequest): Reply {
    const refused = this.checkAuthorize(request.query)
    if (refused !== undefined) return refused
    if (this.denyNext > 0) {
      this.denyNext--
      return this.decideAuthorize(request.query, 'deny')
    }
    return this.decideAuthorize(request.query, 'allow')
  }
}

/** `<P>_CLIENT_ID`, `_SECRET`, `_REDIRECT_URI` and every `<P>_<NAME>_URL` of a provider served at `baseUrl`. */
export function providerEnv (address: ProviderAddress, baseUrl: string, client: { clientId: string, clientSecret: string, redirectUri: string }): Env {
  const env: Env = { [platformVar(address, 'CLIENT_ID')]: client.clientId, [platformVar(address, 'CLIENT_SECRET')]: client.clientSecret, [platformVar(address, 'REDIRECT_URI')]: client.redirectUri }
  for (const [name, path] of Object.entries(address.paths)) env[platformVar(address, `${name as UrlName}_URL`)] = `${baseUrl}${path}`
  return env
}
