// The shape every simulated provider speaks in, free of any server: a request (method, path, query,
// headers, parsed form) goes to a route of the provider's table, which answers a Reply. The sandbox
// plugin (src/sandbox/plugin.ts) and the test fakes (test/fakes/fake-server.ts) each carry these over
// their own HTTP server, so each provider's wire is written once.
import type { IncomingHttpHeaders } from 'node:http'

export interface WireRequest {
  readonly method: string
  /** The path on the provider (without the sandbox's `/sandbox/<platform>` prefix). */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: IncomingHttpHeaders
  /** The urlencoded form body, parsed (empty for other bodies). */
  readonly form: Readonly<Record<string, string>>
  readonly body: string
}

/** What a route answers. */
export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly json?: unknown
  readonly text?: string
}

/**
 * A failure to answer instead of the normal one. Generic ones are the same on every provider
 * (genericFaultReply); the others are shaped by the provider in its own wire format.
 */
export type Fault =
  | { readonly kind: 'status', readonly status: number }
  | { readonly kind: 'rate_limited', readonly retryAfter?: string }
  | { readonly kind: 'html', readonly status?: number }
  | { readonly kind: 'broken_json' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'invalid_grant' }
  | { readonly kind: 'oauth_error', readonly error: string, readonly status?: number }
  /** A success whose `expires_in` is this value (`undefined` drops the field). */
  | { readonly kind: 'expires_in', readonly value: unknown }
  /** Reddit: an error in an HTTP-200 body. */
  | { readonly kind: 'error_in_200', readonly error: string }
  /** Instagram / Graph: `{error:{code,…}}`. */
  | { readonly kind: 'graph_error', readonly code: number, readonly status?: number }

export interface RouteContext {
  readonly request: WireRequest
  /** A provider-shaped fault for this request (generic ones never reach the route). */
  readonly fault: Fault | undefined
}

export interface Route {
  readonly method: string
  readonly path: string
  /** The endpoint name a request to this route goes by; may depend on the request (grant_type). */
  readonly endpoint: (request: WireRequest) => string
  readonly handle: (ctx: RouteContext) => Reply | Promise<Reply>
}

/** One line of a provider's route table; its endpoint name is its key unless it depends on the request. */
export interface RouteEntry {
  readonly method: string
  readonly path: string
  readonly handle: Route['handle']
  readonly endpoint?: Route['endpoint']
}

/** The route table, by endpoint name, as a list of routes. */
export function routeTable (table: Readonly<Record<string, RouteEntry>>): Route[] {
  return Object.entries(table).map(([name, entry]) => ({ method: entry.method, path: entry.path, endpoint: entry.endpoint ?? (() => name), handle: entry.handle }))
}

/** The OAuth token endpoint answers both grants: named `code` or `refresh` by grant_type. */
export const byGrantType: Route['endpoint'] = (r) => r.form.grant_type === 'refresh_token' ? 'refresh' : 'code'

/** A 302 to `location`. */
export function redirect (location: string): Reply {
  return { status: 302, headers: { location } }
}

/** The `expires_in` fault applied to a success answer (`undefined` drops the field). */
export function withExpiresInFault (reply: Reply, fault: Fault | undefined): Reply {
  if (fault?.kind !== 'expires_in' || reply.status !== 200) return reply
  const json = { ...(reply.json as Record<string, unknown>) }
  if (fault.value === undefined) delete json.expires_in
  else json.expires_in = fault.value
  return { ...reply, json }
}

const GENERIC_FAULTS: ReadonlySet<Fault['kind']> = new Set(['status', 'rate_limited', 'html', 'broken_json', 'hang'])

function isGenericFault (fault: Fault | undefined): boolean {
  return fault !== undefined && GENERIC_FAULTS.has(fault.kind)
}

/** Never answers: the server carrying the wire holds the request until the client gives up. */
export const HANG = Symbol('hang')

/** The answer to a generic fault, the same for every provider (a hang is the server's to hold). */
function genericFaultReply (fault: Fault): Reply | typeof HANG {
  switch (fault.kind) {
    case 'status': return { status: fault.status, text: 'Internal Server Error' }
    case 'rate_limited': return { status: 429, headers: fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }, text: 'Too Many Requests' }
    case 'html': return { status: fault.status ?? 200, headers: { 'content-type': 'text/html' }, text: '<html><body>Service temporarily unavailable</body></html>' }
    case 'broken_json': return { status: 200, headers: { 'content-type': 'application/json' }, text: '{"access_token": "tru' }
    case 'hang': return HANG
    default: return { status: 500, text: 'unexpected fault' }
  }
}

/** What a route answers to `request` under `fault`: a generic fault's answer, else the route's own. */
export async function answer (route: Route, request: WireRequest, fault: Fault | undefined): Promise<Reply | typeof HANG> {
  if (fault !== undefined && isGenericFault(fault)) return genericFaultReply(fault)
  return await route.handle({ request, fault })
}

/** The reply's body and headers as bytes go out (JSON gets its content type). */
export function serialize (reply: Reply): { headers: Record<string, string>, payload: string } {
  const headers: Record<string, string> = { ...reply.headers }
  let payload = reply.text ?? ''
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json)
    headers['content-type'] ??= 'application/json; charset=utf-8'
  }
  return { headers, payload }
}
