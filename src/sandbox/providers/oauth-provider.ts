// What every simulated provider shares: its registered client (id, secret, redirect URI), the token
// ledger, the user the next authorization signs in as, the authorize step split in two (the check,
// then the user's decision: the sandbox shows a consent page in between, the fakes decide at once),
// and the route table the servers carry. Everything about the platform comes from its module: where
// its endpoints live (the paths of its spec's URLs), its variables, its wire (client id parameter,
// PKCE, authorize parameters) and its simulation data.
import { randomBytes } from 'node:crypto'
import { platformVar, URL_KEYS, urlVar, type UrlKey } from '../../platforms/env-names.js'
import type { PlatformSpec } from '../../platforms/platform.js'
import type { Simulation } from '../../platforms/simulation.js'
import { redirect, type Reply, type Route, type WireRequest } from './wire.js'
import { s256, TokenLedger, type CodeRecord, type FakeUser, type IssuedTokens } from './token-ledger.js'

export type Env = Record<string, string | undefined>

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

/** Where a provider's endpoints live (by URL key), and the platform's variables. */
export interface ProviderAddress {
  readonly platform: string
  /** The env prefix of the platform's variables (`REDDIT`). */
  readonly envPrefix: string
  readonly clientIdVar: string
  readonly paths: Readonly<Partial<Record<UrlKey, string>>>
}

/** The provider's endpoints at the paths of the real ones (the spec's default URLs). */
export function providerAddress (spec: PlatformSpec): ProviderAddress {
  const paths: Partial<Record<UrlKey, string>> = {}
  for (const key of URL_KEYS) {
    const url = spec.defaultUrls[key]
    if (url !== undefined) paths[key] = new URL(url).pathname
  }
  return { platform: spec.name, envPrefix: spec.envPrefix, clientIdVar: spec.clientIdVar, paths }
}

/**
 * A path of the provider's API (`path` under `<P>_API_URL`) as a route of the provider, which serves
 * every endpoint under one base: the API base's own path, then `path`.
 */
export function apiPath (address: ProviderAddress, path: string): string {
  return `${(address.paths.api ?? '/').replace(/\/+$/, '')}${path}`
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

  readonly address: ProviderAddress
  readonly #simulation: Simulation

  constructor (spec: PlatformSpec, simulation: Simulation, options: ProviderOptions, rotate: boolean) {
    const address = providerAddress(spec)
    const prefix = simulation.tokenPrefix
    this.address = address
    this.#simulation = simulation
    this.ledger = new TokenLedger(prefix)
    // `-` and `_` on purpose: a form-encoded Basic header would turn them into %2D / %5F.
    this.clientId = options.clientId ?? `${prefix}-client_id-${randomBytes(3).toString('hex')}`
    this.clientSecret = options.clientSecret ?? `${prefix}-secret-CANARY-${randomBytes(9).toString('hex')}`
    this.redirectUri = options.redirectUri ?? `http://localhost/api/auth/${address.platform}/callback`
    this.user = options.user ?? simulation.user()
    this.rotate = options.rotate ?? rotate
    this.expiresInSec = options.expiresInSec ?? simulation.expiresInSec
  }

  get platform (): string { return this.address.platform }

  /** The authorize request's name for the client id (TikTok: `client_key`). */
  protected get clientIdParam (): string { return this.#simulation.wire.clientIdParam }

  /** The credential a refresh request presents (refresh token, or Graph's access token). */
  abstract presentedCredential (request: WireRequest): string | undefined

  /**
   * What the code carries from the authorize request, or its refusal: the PKCE challenge where the
   * wire takes PKCE (S256 only), and no refresh token when the wire's own authorize parameters are
   * missing (Reddit without duration=permanent issues none).
   */
  protected authorizeExtras (query: Readonly<Record<string, string>>): CodeExtras | Reply {
    const { wire } = this.#simulation
    const noRefreshToken = Object.entries(wire.authorizeParams ?? {}).some(([name, value]) => query[name] !== value)
    if (!wire.pkce) return { noRefreshToken }
    const { code_challenge: codeChallenge, code_challenge_method: method } = query
    if (codeChallenge !== undefined && method !== 'S256') return { status: 400, text: 'unsupported code_challenge_method' }
    return { codeChallenge, codeChallengeMethod: method, noRefreshToken }
  }

  /** RFC 7636 §4.6: the verifier must hash to the challenge the authorize step saw (none asked: none checked). */
  protected verifierMatches (code: CodeRecord, verifier: string | undefined): boolean {
    return code.codeChallenge === undefined || s256(verifier ?? '') === code.codeChallenge
  }

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

/** The client id, secret and redirect URI variables and every URL variable of a provider served at `baseUrl`. */
export function providerEnv (address: ProviderAddress, baseUrl: string, client: { clientId: string, clientSecret: string, redirectUri: string }): Env {
  const env: Env = { [platformVar(address, 'CLIENT_ID')]: client.clientId, [platformVar(address, 'CLIENT_SECRET')]: client.clientSecret, [platformVar(address, 'REDIRECT_URI')]: client.redirectUri }
  for (const [key, path] of Object.entries(address.paths)) env[urlVar(address, key as UrlKey)] = `${baseUrl}${path}`
  return env
}
