// Test plumbing for the provider API proxy: a trap server on 127.0.0.1 that must see nothing, a
// service wired to fake providers on DynamoDB Local, and raw HTTP for request targets fetch would fix.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { WebhooksPluginOptions } from '../../src/plugins/webhooks.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore, type TokenStore } from '../../src/store/token-store.js'
import type { OAuthFake } from '../fakes/oauth-fake.js'
import { buildApp, createTestTable, LogCapture, testConfig, type Env, type TestTable } from '../helper.js'
import { manualClock, seedTokens, type ManualClock, type SeededToken } from './refresh.js'

export const KEY = 'internal-key-0123456789abcdef'
export const KEY2 = 'internal-key-second-0123456789'
export const CRON = 'cron-secret-0123456789abcdef'
export const MINUTE = 60_000
export const auth = (key = KEY): Record<string, string> => ({ authorization: `Bearer ${key}` })

/** A server of the test's own: any request reaching it is a proxy that let the caller pick the host. */
export class Trap {
  readonly seen: Array<{ method: string, url: string, headers: IncomingHttpHeaders }> = []
  #server: Server | undefined
  port = 0
  get origin (): string { return `http://127.0.0.1:${this.port}` }
  get host (): string { return `127.0.0.1:${this.port}` }

  static async start (t: Test): Promise<Trap> {
    const trap = new Trap()
    trap.#server = createServer((req, res) => {
      trap.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"trapped":true}')
    })
    await new Promise<void>((resolve) => trap.#server!.listen(0, '127.0.0.1', resolve))
    trap.port = (trap.#server.address() as AddressInfo).port
    t.teardown(async () => {
      trap.#server!.closeAllConnections()
      await new Promise<void>((resolve) => trap.#server!.close(() => resolve()))
    })
    return trap
  }
}

export interface ProxySetup {
  readonly app: Awaited<ReturnType<typeof buildApp>>
  readonly store: TokenStore
  readonly table: TestTable
  readonly clock: ManualClock
  readonly logs: LogCapture
  seed (expiresInMs?: number, prefix?: string): Promise<SeededToken>
}

export interface ProxySetupOptions {
  readonly env?: Env
  readonly table?: TestTable
  readonly webhooks?: WebhooksPluginOptions
}

/** The real app on a fresh table, every platform URL (the API's included) at `fake`. */
export async function proxySetup (t: Test, fake: OAuthFake, options: ProxySetupOptions = {}): Promise<ProxySetup> {
  const table = options.table ?? await createTestTable(t)
  const clock = manualClock()
  const logs = new LogCapture()
  const config = testConfig({
    TOKENS_TABLE: table.name,
    CRON_SECRET: CRON,
    INTERNAL_API_KEY: `${KEY},${KEY2}`,
    PROVIDER_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'debug',
    ...fake.env(),
    ...options.env
  })
  const app = await buildApp(t, {
    config,
    clock: clock.now,
    logs,
    ...(options.webhooks === undefined ? {} : { webhooks: options.webhooks })
  })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: clock.now })
  let n = 0
  const seed = async (expiresInMs = 60 * MINUTE, prefix = `user${n++}`): Promise<SeededToken> =>
    (await seedTokens(store, fake, 1, { expiresInMs, now: clock.now, prefix }))[0]!
  return { app, store, table, clock, logs, seed }
}

/** The audit lines of the proxy (one per proxied call). */
export function auditLines (logs: LogCapture): Array<{ proxy: Record<string, unknown> }> {
  return logs.lines.map((l) => JSON.parse(l) as { msg?: string, proxy: Record<string, unknown> }).filter((l) => l.msg === 'proxied call')
}

/**
 * One request written on a raw socket, so the request target goes out exactly as given (fetch and
 * inject would normalise it). Answers the status line's code and the raw answer.
 */
export async function rawRequest (origin: string, requestLine: string, headers: Record<string, string>, body = ''): Promise<{ status: number, text: string }> {
  const { hostname, port } = new URL(origin)
  return await new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const lines = [requestLine, `Host: ${hostname}:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
      if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
      socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
    })
    let text = ''
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
    socket.on('error', reject)
    socket.on('close', () => { resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }) })
  })
}
