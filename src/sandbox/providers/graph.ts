// Meta's Graph wire (Instagram, Threads), played from a Graph platform's module: a code exchange
// answering a short-lived token (flat, or Instagram's `{data: […]}` when codeShape says so), the
// long-lived exchange (`<x>_exchange_token`), refresh with the access token itself
// (`<x>_refresh_token`), Graph error objects, /me. No revocation endpoint, like the real ones.
// @see https://developers.facebook.com/docs/graph-api/guides/error-handling
import { randomBytes } from 'node:crypto'
import type { PlatformSpec } from '../../platforms/platform.js'
import type { GraphSimulation } from '../../platforms/simulation.js'
import { apiPath, OAuthProvider, type ProviderOptions } from './oauth-provider.js'
import type { TokenRecord } from './token-ledger.js'
import { routeTable, withExpiresInFault, type Fault, type Reply, type Route, type RouteContext, type WireRequest } from './wire.js'

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

export class GraphProvider extends OAuthProvider {
  /** Lifetime of a long-lived token (about 60 days). */
  longLivedExpiresInSec = 5_183_944
  /** Which of the two documented code-exchange answers to give (Instagram documents both). */
  codeShape: 'flat' | 'data' = 'flat'
  readonly routes: readonly Route[]
  readonly #simulation: GraphSimulation

  constructor (spec: PlatformSpec, simulation: GraphSimulation, options: ProviderOptions = {}) {
    super(spec, simulation, options, false)
    this.#simulation = simulation
    const path = (key: 'authorize' | 'token' | 'exchange' | 'refresh' | 'userinfo'): string => {
      const found = this.address.paths[key]
      if (found === undefined) throw new Error(`${spec.name}: a Graph platform needs a default ${key} URL`)
      return found
    }
    this.routes = routeTable({
      authorize: { method: 'GET', path: path('authorize'), handle: ({ request }) => this.authorizeReply(request) },
      code: { method: 'POST', path: path('token'), handle: (ctx) => this.#faultReply(ctx.fault) ?? this.#code(ctx.request) },
      exchange: { method: 'GET', path: path('exchange'), handle: (ctx) => this.#faultReply(ctx.fault) ?? this.#exchange(ctx) },
      refresh: { method: 'GET', path: path('refresh'), handle: (ctx) => this.#faultReply(ctx.fault) ?? this.#refresh(ctx) },
      userinfo: { method: 'GET', path: path('userinfo'), handle: (ctx) => this.#faultReply(ctx.fault) ?? this.#me(ctx.request) },
      ...(simulation.publish === undefined ? {} : { publish: { method: 'POST', path: apiPath(this.address, simulation.publish.path), handle: ({ request }) => this.#publish(request) } })
    })
  }

  /** Graph refreshes with the long-lived access token itself. */
  presentedCredential (request: WireRequest): string | undefined { return request.query.access_token }

  /** The code answer's body: flat or `{data: [entry]}`, with `permissions` where the platform lists them. */
  #codeAnswer (entry: Record<string, unknown>): unknown {
    const { permissions, ...flat } = entry
    const body = this.#simulation.codeAnswerListsPermissions ? { ...flat, permissions } : flat
    return this.codeShape === 'flat' ? body : { data: [body] }
  }

  /** A long-lived token as if the user had connected (Graph has no refresh token). */
  override seedGrant (user = this.user, scopes: readonly string[] = []): { accessToken: string, refreshToken?: undefined, user: typeof user } {
    return { accessToken: this.ledger.issue(user, scopes, { refresh: false }).accessToken, user }
  }

  /** Faults every Graph endpoint shapes the same way (Graph errors). */
  #faultReply (fault: Fault | undefined): Reply | undefined {
    switch (fault?.kind) {
      case 'graph_error': return graphError(fault.code, fault.status)
      case 'invalid_grant': return graphError(190)
      case 'oauth_error': return graphError(100, fault.status)
      case 'error_in_200': return { status: 200, json: { error: { message: fault.error, type: 'OAuthException', code: 1 } } }
      default: return undefined
    }
  }

  #code ({ form }: WireRequest): Reply {
    if (form.client_id !== this.clientId || form.client_secret !== this.clientSecret) {
      return { status: 400, json: { error_type: 'OAuthException', code: 400, error_message: 'Invalid platform app' } }
    }
    const code = this.ledger.takeCode(form.code)
    if (form.grant_type !== 'authorization_code' || code === undefined || code.redirectUri !== form.redirect_uri) {
      return { status: 400, json: { error_type: 'OAuthException', code: 400, error_message: 'Invalid authorization code' } }
    }
    const { accessToken } = this.ledger.issue(code.user, code.scopes, { refresh: false, kind: 'short_lived', expiresInSec: this.expiresInSec })
    return { status: 200, json: this.#codeAnswer({ access_token: accessToken, user_id: code.user.id, permissions: code.scopes.join(',') }) }
  }

  #longLived (record: TokenRecord, fault: Fault | undefined): Reply {
    const { accessToken } = this.ledger.issue(record.user, record.scopes, { refresh: false, expiresInSec: this.longLivedExpiresInSec })
    return withExpiresInFault({ status: 200, json: { access_token: accessToken, token_type: 'bearer', expires_in: this.longLivedExpiresInSec } }, fault)
  }

  #exchange ({ request: { query }, fault }: RouteContext): Reply {
    if (query.grant_type !== this.#simulation.wire.exchangeGrantType || query.client_secret !== this.clientSecret) return graphError(100)
    const record = this.ledger.find(query.access_token, ['short_lived'])
    return record === undefined ? graphError(190) : this.#longLived(record, fault)
  }

  #refresh ({ request: { query }, fault }: RouteContext): Reply {
    if (query.grant_type !== this.#simulation.wire.refreshGrantType) return graphError(100)
    // Only an unexpired long-lived token can be refreshed (a short-lived one cannot).
    const record = this.ledger.find(query.access_token, ['access'])
    return record === undefined ? graphError(190) : this.#longLived(record, fault)
  }

  /** Graph takes the token as a Bearer header or as `access_token` in the query. */
  protected override bearerOf (request: WireRequest): string | undefined {
    return super.bearerOf(request) ?? request.query.access_token
  }

  /** The API's write (a media container, a post): `{id}`, or code 190 for a dead or expired token. */
  #publish (request: WireRequest): Reply {
    const record = this.ledger.findLive(this.bearerOf(request), ['access', 'short_lived'])
    if (record === undefined) return graphError(190)
    return { status: 200, json: this.#simulation.publish?.answer(this.publish(record.user.id, request), request.form) }
  }

  #me (request: WireRequest): Reply {
    const record = this.ledger.findLive(this.bearerOf(request), ['access', 'short_lived'])
    if (record === undefined) return graphError(190)
    const fields = (request.query.fields ?? 'id').split(',')
    return { status: 200, json: Object.fromEntries(Object.entries(this.#simulation.meFields(record.user)).filter(([k]) => fields.includes(k) || k === 'id')) }
  }
}
