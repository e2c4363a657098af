// The base of every fake provider: a real node:http server on 127.0.0.1 (port 0) that records every
// request (method, path, query, headers, form body), applies latency and queued faults, and hands the
// rest to the platform's routes. Close it in t.teardown (the platform fakes' start() does).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: IncomingHttpHeaders
  /** The urlencoded form body, parsed (empty for other bodies). */
  readonly form: Readonly<Record<string, string>>
  readonly body: string
  /** Which of the platform's endpoints answered it (authorize, code, refresh, exchange, userinfo, revoke…). */
  readonly endpoint: string
}

/** What a route answers. */
export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly json?: unknown
  readonly text?: string
}

/**
 * A failure to inject into the next answers of one endpoint. Generic ones are answered here;
 * the others are shaped by the platform in its own wire format.
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
  readonly request: RecordedRequest
  /** A platform-shaped fault for this request (generic ones never reach the route). */
  readonly fault: Fault | undefined
}

export interface Route {
  readonly method: string
  readonly path: string
  /** The endpoint name a request to this route is recorded under; may depend on the request (grant_type). */
  readonly endpoint: (request: Omit<RecordedRequest, 'endpoint'>) => string
  readonly handle: (ctx: RouteContext) => Reply | Promise<Reply>
}

const GENERIC_FAULTS: ReadonlySet<Fault['kind']> = new Set(['status', 'rate_limited', 'html', 'broken_json', 'hang'])

export class FakeServer {
  readonly requests: RecordedRequest[] = []
  /** Added before every answer (ms). */
  latencyMs = 0
  /** Called with every request as soon as it is recorded (before latency and faults). */
  onRequest: ((request: RecordedRequest) => void) | undefined
  #server: Server
  #routes: Route[] = []
  #faults = new Map<string, Fault[]>()
  #url = ''

  constructor () {
    this.#server = createServer((req, res) => { this.#handle(req, res).catch(() => { res.destroy() }) })
  }

  get url (): string { return this.#url }

  addRoute (route: Route): void { this.#routes.push(route) }

  /** The next `count` answers of `endpoint` fail with `fault`. */
  failNext (endpoint: string, fault: Fault, count = 1): void {
    const queue = this.#faults.get(endpoint) ?? []
    for (let i = 0; i < count; i++) queue.push(fault)
    this.#faults.set(endpoint, queue)
  }

  /** Drops every queued fault. */
  clearFaults (): void { this.#faults.clear() }

  requestsTo (endpoint: string): RecordedRequest[] { return this.requests.filter((r) => r.endpoint === endpoint) }

  async listen (): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
    return this.#url
  }

  /** Stops the server, cutting hung requests and keep-alive sockets. */
  async close (): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake.invalid')
    const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    const base = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      form: isForm ? Object.fromEntries(new URLSearchParams(body)) : {},
      body
    }
    const route = this.#routes.find((r) => r.method === base.method && r.path === base.path)
    const request: RecordedRequest = { ...base, endpoint: route?.endpoint(base) ?? 'unknown' }
    this.requests.push(request)
    this.onRequest?.(request)
    if (this.latencyMs > 0) await sleep(this.latencyMs)
    if (route === undefined) return send(res, { status: 404, json: { error: 'not_found' } })
    const fault = this.#faults.get(request.endpoint)?.shift()
    if (fault !== undefined && GENERIC_FAULTS.has(fault.kind)) return await genericFault(req, res, fault)
    send(res, await route.handle({ request, fault }))
  }
}

async function genericFault (req: IncomingMessage, res: ServerResponse, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'status': return send(res, { status: fault.status, text: 'Internal Server Error' })
    case 'rate_limited': return send(res, { status: 429, headers: fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }, text: 'Too Many Requests' })
    case 'html': return send(res, { status: fault.status ?? 200, headers: { 'content-type': 'text/html' }, text: '<html><body>Service temporarily unavailable</body></html>' })
    case 'broken_json': return send(res, { status: 200, headers: { 'content-type': 'application/json' }, text: '{"access_token": "tru' })
    // Never answers: the client's timeout must end it (or close() does).
    case 'hang': await new Promise<void>((resolve) => req.socket.once('close', resolve)); return
    default: return send(res, { status: 500, text: 'unexpected fault' })
  }
}

export function send (res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers }
  let payload = reply.text ?? ''
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json)
    headers['content-type'] ??= 'application/json; charset=utf-8'
  }
  res.writeHead(reply.status, headers)
  res.end(payload)
}

/** A 302 to `location`. */
export function redirect (location: string): Reply {
  return { status: 302, headers: { location } }
}
