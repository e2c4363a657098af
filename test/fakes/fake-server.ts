// The base of every fake provider: a real node:http server on 127.0.0.1 (port 0) that records every
// request (method, path, query, headers, form body), applies latency and queued faults, and hands the
// rest to the provider's routes (src/sandbox/providers: the same wire the sandbox serves). Close it in
// t.teardown (the platform fakes' start() does).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { answer, HANG, serialize, type Fault, type Reply, type Route, type WireRequest } from '../../src/sandbox/providers/wire.js'

export { redirect, type Fault, type Reply, type Route, type RouteContext } from '../../src/sandbox/providers/wire.js'

export interface RecordedRequest extends WireRequest {
  /** Which of the platform's endpoints answered it (authorize, code, refresh, exchange, userinfo, revoke…). */
  readonly endpoint: string
}

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

  constructor (routes: readonly Route[] = []) {
    this.#routes.push(...routes)
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
    const base: WireRequest = {
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
    const reply = await answer(route, request, this.#faults.get(request.endpoint)?.shift())
    // Never answers: the client's timeout must end it (or close() does).
    if (reply === HANG) return await new Promise<void>((resolve) => req.socket.once('close', resolve))
    send(res, reply)
  }
}

export function send (res: ServerResponse, reply: Reply): void {
  const { headers, payload } = serialize(reply)
  res.writeHead(reply.status, headers)
  res.end(payload)
}
