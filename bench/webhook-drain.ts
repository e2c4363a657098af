// `webhook_drain_per_s` of `npm run bench`: a backlog of connection events, written by the token store
// as it writes them (each in the TransactWriteItems of its state change), drained by the app's own
// delivery worker (src/plugins/webhooks.ts → src/webhooks/delivery.ts → src/store/webhook-outbox.ts)
// with its production timings, to a real node:http receiver on 127.0.0.1 answering 200.
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import type { Cipher } from '../src/store/crypto.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'
import { ensureTable } from '../src/store/table.js'
import { createTokenStore } from '../src/store/token-store.js'
import { createWebhookOutbox } from '../src/store/webhook-outbox.js'
import { seedDue } from './seed.js'
import { benchEnv } from './bench-env.js'

export interface DrainFigures {
  readonly events: number
  /** From the worker's start (the app's onReady) to the pending partition empty. */
  readonly drainMs: number
  readonly deliveries: number
  readonly uniqueIds: number
  readonly writeMs: number
}

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 1_000)
const DRAIN_LIMIT_MS = 10 * 60_000

export async function webhookDrain (opts: { endpoint: string, table: string, cipher: Cipher, encryptionKey: string }): Promise<DrainFigures> {
  const ids = new Set<string>()
  let deliveries = 0
  const receiver = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      deliveries++
      ids.add(String(req.headers['webhook-id']))
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: opts.endpoint })
  try {
    await ensureTable(dynamo.client, opts.table)
    // Connections first, then a disconnect of each: the store writes every `connection.disconnected`
    // event in the transaction that deletes its connection, as DELETE /api/platforms/:platform does.
    const prefix = 'bench-hook-'
    const nowMs = Date.now()
    await seedDue(Array.from({ length: EVENTS }, (_, i) => ({ at: `hook-at-${i}`, rt: `hook-rt-${i}` })), { doc: dynamo.doc, table: opts.table, cipher: opts.cipher, platform: 'tiktok', nowMs, lifetimeMs: 24 * 3_600_000, remainingMs: 23 * 3_600_000, prefix })
    const store = createTokenStore({ doc: dynamo.doc, table: opts.table, cipher: opts.cipher, connectionEvents: true })
    const t0 = performance.now()
    let next = 0
    const lane = async (): Promise<void> => {
      while (next < EVENTS) {
        const i = next++
        if (await store.deleteConnection({ userId: `${prefix}${i}`, platform: 'tiktok' }) === undefined) throw new Error('not seeded')
      }
    }
    await Promise.all(Array.from({ length: 8 }, lane))
    const writeMs = performance.now() - t0
    const outbox = createWebhookOutbox({ doc: dynamo.doc, table: opts.table })
    const pending = await outbox.count('pending', EVENTS + 1)
    if (pending !== EVENTS) throw new Error(`${pending} events pending, ${EVENTS} written`)

    const config = loadConfig(benchEnv(opts, {
      REAUTH_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
      REAUTH_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`
    }))
    const server = Fastify({ ...serverOptions(config), logger: { level: 'warn' } })
    // The worker starts on onReady, with no test timings: the poll, batch and timeout it runs with in production.
    await server.register(app, { config, dynamo })
    const started = performance.now()
    await server.ready()
    try {
      while (ids.size < EVENTS) {
        if (performance.now() - started > DRAIN_LIMIT_MS) throw new Error(`${ids.size} of ${EVENTS} delivered after ${DRAIN_LIMIT_MS} ms`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      // Delivered is deleted: the backlog is drained when the pending partition is empty.
      while (await outbox.count('pending', 1) > 0) await new Promise((resolve) => setTimeout(resolve, 20))
      return { events: EVENTS, drainMs: performance.now() - started, deliveries, uniqueIds: ids.size, writeMs }
    } finally {
      await server.close()
    }
  } finally {
    dynamo.client.destroy()
    receiver.closeAllConnections()
    await new Promise<void>((resolve) => receiver.close(() => resolve()))
  }
}
