// Standard OAuth 2.0 with refresh tokens (RFC 6749 §4.1, §6; RFC 7636; RFC 7009), played from a
// code-grant platform's module: the client authenticated as its wire says (raw Basic or form fields
// under its client id parameter), PKCE where its wire takes it, a code without the wire's authorize
// parameters yielding no refresh token, rotation on or off, and every answer (errors, token answer,
// account lookup, revocation) in the provider's own format from its simulation data. Reddit's and
// TikTok's providers are this class with their modules' data.
// @see https://www.rfc-editor.org/rfc/rfc6749 and https://www.rfc-editor.org/rfc/rfc7009
import { Buffer } from 'node:buffer'
import type { PlatformSpec } from '../../platforms/platform.js'
import type { CodeGrantSimulation, SimulatedUser } from '../../platforms/simulation.js'
import { apiPath, OAuthProvider, type ProviderOptions } from './oauth-provider.js'
import { byGrantType, routeTable, withExpiresInFault, type Reply, type Route, type RouteContext, type RouteEntry, type WireRequest } from './wire.js'

export class CodeGrantProvider extends OAuthProvider {
  /** refresh_expires_in of every token answer, where the provider sends one. */
  refreshExpiresInSec: number | undefined
  readonly routes: readonly Route[]
  readonly #simulation: CodeGrantSimulation

  constructor (spec: PlatformSpec, simulation: CodeGrantSimulation, options: ProviderOptions = {}) {
    super(spec, simulation, options, simulation.rotates)
    this.#simulation = simulation
    this.refreshExpiresInSec = simulation.refreshExpiresInSec
    const { paths } = this.address
    if (paths.authorize === undefined || paths.token === undefined || paths.userinfo === undefined) throw new Error(`${spec.name}: authorize, token and userinfo URLs are needed`)
    const table: Record<string, RouteEntry> = {
      authorize: { method: 'GET', path: paths.authorize, handle: ({ request }) => this.authorizeReply(request) },
      token: { method: 'POST', path: paths.token, endpoint: byGrantType, handle: (ctx) => this.#token(ctx) },
      userinfo: { method: 'GET', path: paths.userinfo, handle: (ctx) => this.#userinfo(ctx) }
    }
    // A refresh endpoint of its own, where the provider has one apart from the token endpoint.
    if (paths.refresh !== undefined && paths.refresh !== paths.token) table.refresh = { method: 'POST', path: paths.refresh, handle: (ctx) => this.#token(ctx) }
    if (paths.revoke !== undefined) table.revoke = { method: 'POST', path: paths.revoke, handle: ({ request }) => this.#revoke(request) }
    if (simulation.publish !== undefined) table.publish = { method: 'POST', path: apiPath(this.address, simulation.publish.path), handle: ({ request }) => this.#publish(request) }
    this.routes = routeTable(table)
  }

  presentedCredential (request: WireRequest): string | undefined { return request.form.refresh_token }

  /** The exact Basic header a `basic` wire expects: base64(`id:secret`), NOT form-encoded first. */
  expectedBasic (): string { return `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}` }

  #error (error: string, status = 400): Reply {
    return { status, json: this.#simulation.errorBody(error) }
  }

  #clientOk (request: WireRequest): boolean {
    const { wire } = this.#simulation
    if (wire.clientAuth === 'basic') return request.headers.authorization === this.expectedBasic()
    return request.form[wire.clientIdParam] === this.clientId && request.form.client_secret === this.clientSecret
  }

  /** A missing or generic User-Agent (`node`, undici's), where the provider throttles those. */
  #badUserAgent (request: WireRequest): boolean {
    if (this.#simulation.requiresDescriptiveUserAgent !== true) return false
    const ua = request.headers['user-agent'] ?? ''
    return ua === '' || ua === 'node' || ua.startsWith('undici')
  }

  #token ({ request, fault }: RouteContext): Reply {
    if (this.#badUserAgent(request)) return { status: 429, json: { message: 'Too Many Requests', error: 429 } }
    if (!this.#clientOk(request)) return this.#simulation.invalidClient()
    switch (fault?.kind) {
      case 'invalid_grant': return this.#error('invalid_grant')
      case 'oauth_error': return this.#error(fault.error, fault.status)
      case 'error_in_200': return this.#error(fault.error, 200)
    }
    return withExpiresInFault(request.form.grant_type === 'refresh_token' ? this.#refresh(request) : this.#code(request), fault)
  }

  #code (request: WireRequest): Reply {
    if (request.form.grant_type !== 'authorization_code') return this.#error('unsupported_grant_type')
    const code = this.ledger.takeCode(request.form.code)
    if (code === undefined || code.redirectUri !== request.form.redirect_uri) return this.#error('invalid_grant')
    if (!this.verifierMatches(code, request.form.code_verifier)) {
      // As TikTok words it: invalid_request "Code verifier or code challenge is invalid."
      return { status: 400, json: { ...this.#simulation.errorBody('invalid_request'), error_description: 'Code verifier or code challenge is invalid.' } }
    }
    return this.#success(this.ledger.issue(code.user, code.scopes, { refresh: code.noRefreshToken !== true, expiresInSec: this.expiresInSec }), code.user, code.scopes)
  }

  #refresh (request: WireRequest): Reply {
    const presented = request.form.refresh_token
    const record = this.ledger.find(presented, ['refresh'])
    if (presented === undefined || record === undefined) return this.#error('invalid_grant')
    if (this.rotate) {
      // Rotation: the presented refresh token stops working once a new one is issued.
      this.ledger.invalidate(presented)
      return this.#success(this.ledger.issue(record.user, record.scopes, { expiresInSec: this.expiresInSec }), record.user, record.scopes)
    }
    // Without rotation: a new access token and no refresh_token field (RFC 6749 §6 allows it).
    const issued = this.ledger.issue(record.user, record.scopes, { refresh: false, expiresInSec: this.expiresInSec })
    return this.#success({ accessToken: issued.accessToken }, record.user, record.scopes)
  }

  #success (tokens: { accessToken: string, refreshToken?: string | undefined }, user: SimulatedUser, scopes: readonly string[]): Reply {
    const simulation = this.#simulation
    const json: Record<string, unknown> = { access_token: tokens.accessToken, token_type: simulation.tokenType, expires_in: this.expiresInSec, scope: scopes.join(simulation.wire.scopeSeparator) }
    if (tokens.refreshToken !== undefined) json.refresh_token = tokens.refreshToken
    if (this.refreshExpiresInSec !== undefined) json.refresh_expires_in = this.refreshExpiresInSec
    if (simulation.tokenAnswerUserField !== undefined) json[simulation.tokenAnswerUserField] = user.id
    return { status: 200, json }
  }

  #revoke (request: WireRequest): Reply {
    if (!this.#clientOk(request)) return this.#simulation.invalidClient()
    const token = request.form.token
    const known = token !== undefined && this.ledger.revokeGrant(token)
    // RFC 7009 §2.2: an unknown token is not an error (TikTok makes it one).
    const refusal = this.#simulation.unknownTokenRevokeError
    if (!known && refusal !== undefined) return this.#error(refusal)
    const status = this.#simulation.revokedStatus
    return status === 204 ? { status } : { status, json: {} }
  }

  #userinfo ({ request, fault }: RouteContext): Reply {
    const bearer = /^bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1]
    // Any provider-shaped fault on the account lookup: the token is refused.
    const record = fault === undefined ? this.ledger.findLive(bearer) : undefined
    if (record === undefined) return this.#simulation.userinfoRefused()
    const fields = (request.query.fields ?? '').split(',').filter((f) => f !== '')
    return { status: 200, json: this.#simulation.userinfo(record.user, fields) }
  }

  /** The API's write, as the user of a live bearer token (else the account lookup's refusal: 401). */
  #publish (request: WireRequest): Reply {
    if (this.#badUserAgent(request)) return { status: 429, json: { message: 'Too Many Requests', error: 429 } }
    const record = this.ledger.findLive(this.bearerOf(request))
    if (record === undefined) return this.#simulation.userinfoRefused()
    return { status: 200, json: this.#simulation.publish?.answer(this.publish(record.user.id, request), request.form) }
  }
}
