// A real webhook receiver on 127.0.0.1 for the delivery tests: records every request (headers and raw
// body) and answers as the test says (200, 500, a redirect, slowly), or is not listening at all.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly path: string
  readonly atMs: number
}

export type ReceiverMode = { kind: 'ok' } | { kind: 'status', status: number } | { kind: 'redirect', location: string } | { kind: 'slow', delayMs: number }

export class WebhookReceiver {
  readonly received: Received[] = []
  mode: ReceiverMode = { kind: 'ok' }
  /** Answers for the next requests, before falling back to `mode`. */
  readonly next: ReceiverMode[] = []
  #server: Server | undefined
  port = 0

  get url (): string { return `http://127.0.0.1:${this.port}/hooks` }

  /** Listens (on `port` when given: a receiver that comes back up at the same address). */
  async listen (t: Test, port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), path: req.url ?? '', atMs: Date.now() })
        const mode = this.next.shift() ?? this.mode
        if (mode.kind === 'status') res.writeHead(mode.status).end('receiver failed: CANARY-RECEIVER-BODY')
        else if (mode.kind === 'redirect') res.writeHead(302, { location: mode.location }).end()
        else if (mode.kind === 'slow') setTimeout(() => res.writeHead(200).end('ok'), mode.delayMs)
        else res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    this.#server = server
    this.port = (server.address() as AddressInfo).port
    t.teardown(() => this.close())
    return this
  }

  async close (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Requests to the webhook path (a redirect target elsewhere on this server is counted apart). */
  get deliveries (): Received[] { return this.received.filter((r) => r.path === '/hooks') }
}

/** A fresh Standard Webhooks secret. */
export function webhookSecret (): string {
  return `whsec_${Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64')}`
}
