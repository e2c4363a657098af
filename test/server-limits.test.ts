// Regression (issue 14): with a 128 KiB header limit, no maxConnections and Node's 60 s headersTimeout
// checked every 30 s, slow clients held ~108 KiB each for 42 s. The limits of server-options.ts, probed
// over real HTTP with 200 slow connections that send part of their headers and then nothing.
import { connect, type AddressInfo, type Socket } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import app from '../src/app.js'
import { CONNECTION_LIMITS, serverOptions } from '../src/server-options.js'
import { buildApp, createTestTable, testConfig } from './helper.js'

const SLOW = 200

interface Slow { readonly socket: Socket, readonly closed: Promise<number>, answer: string }

/**
 * Opens `count` connections that each send a 16 KiB header line, never finished, from `addresses`
 * source addresses of 127.0.0.0/8 in turn (all loopback on Linux): under the per-address cap unless
 * one address is asked for.
 */
async function openSlow (port: number, count: number, addresses = 8): Promise<Slow[]> {
  const t0 = performance.now()
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % addresses)}` })
    const slow: Slow = { socket, answer: '', closed: new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - t0))) }
    socket.on('data', (chunk: Buffer) => { slow.answer += chunk.toString() })
    socket.on('error', () => {})
    await new Promise((resolve) => socket.on('connect', resolve).on('close', resolve))
    if (socket.destroyed) return slow
    socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(16 * 1024)}\r\n`)
    return slow
  }))
}

t.test('200 slow connections: the service keeps answering and each is closed by headersTimeout with a 408', async (t) => {
  const table = await createTestTable(t, 'limits')
  const instance = await buildApp(t, { env: { TOKENS_TABLE: table.name }, dynamo: table.dynamo })
  await instance.listen({ port: 0, host: '127.0.0.1' })
  const { port } = instance.server.address() as AddressInfo
  t.equal(instance.server.maxConnections, CONNECTION_LIMITS.maxConnections, 'maxConnections set on the server')
  t.equal(instance.server.headersTimeout, CONNECTION_LIMITS.headersTimeoutMs, 'headersTimeout')
  t.equal(instance.server.requestTimeout, CONNECTION_LIMITS.requestTimeoutMs, 'requestTimeout')
  t.equal(instance.server.keepAliveTimeout, CONNECTION_LIMITS.keepAliveTimeoutMs, 'keepAliveTimeout')

  const slow = await openSlow(port, SLOW)
  const res = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(res.status, 200, 'a normal request is served while they are held')

  const closedAfterMs = await Promise.all(slow.map(async (s) => await s.closed))
  const latestMs = Math.max(...closedAfterMs)
  t.comment(`closed after ${Math.round(Math.min(...closedAfterMs))}–${Math.round(latestMs)} ms`)
  const ceilingMs = CONNECTION_LIMITS.headersTimeoutMs + CONNECTION_LIMITS.connectionsCheckingIntervalMs + 3_000
  t.ok(latestMs <= ceilingMs, `every slow connection closed within ${ceilingMs} ms (latest ${Math.round(latestMs)} ms)`)
  t.ok(slow.every((s) => /^HTTP\/1\.1 408 /.test(s.answer) && s.answer.endsWith('{"ok":false,"error":"request_timeout"}')), 'each got a 408 with the contract body')
})

t.test('past maxConnections, connections are dropped at once and the held ones still count', async (t) => {
  const table = await createTestTable(t, 'limits')
  const limit = 100
  const instance = Fastify(serverOptions(testConfig({ TOKENS_TABLE: table.name }), undefined, { ...CONNECTION_LIMITS, maxConnections: limit }))
  await instance.register(app, { config: testConfig({ TOKENS_TABLE: table.name }), dynamo: table.dynamo })
  t.teardown(() => instance.close())
  await instance.listen({ port: 0, host: '127.0.0.1' })
  const { port } = instance.server.address() as AddressInfo

  const slow = await openSlow(port, SLOW)
  // Node destroys a connection over the limit as it accepts it.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const dropped = slow.filter((s) => s.socket.destroyed)
  t.equal(dropped.length, SLOW - limit, `${SLOW - limit} of ${SLOW} dropped`)
  const connections = await new Promise<number>((resolve, reject) => instance.server.getConnections((err, n) => err === null ? resolve(n) : reject(err)))
  t.equal(connections, limit, `${limit} held`)
  for (const s of slow) s.socket.destroy()
})

t.test('headers over 32 KiB are a 431 with the contract body; under it they reach the routes', async (t) => {
  const table = await createTestTable(t, 'limits')
  const instance = await buildApp(t, { env: { TOKENS_TABLE: table.name }, dynamo: table.dynamo })
  await instance.listen({ port: 0, host: '127.0.0.1' })
  const { port } = instance.server.address() as AddressInfo
  const big = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { cookie: `c=${'a'.repeat(40 * 1024)}` } })
  t.equal(big.status, 431)
  t.same(await big.json(), { ok: false, error: 'header_too_large' })
  const fine = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { cookie: `c=${'a'.repeat(20 * 1024)}` } })
  t.equal(fine.status, 200, 'a 20 KiB cookie header (Amplify with large tokens) still passes')
})

// Security review (issue 18): one client holding half-sent headers filled all 1,024 slots in about a
// second, and every new connection was then reset for about 10 s, renewably.
t.test('one address holding half-sent headers gets its share, not every slot: others are still served', async (t) => {
  const table = await createTestTable(t, 'limits')
  const instance = await buildApp(t, { env: { TOKENS_TABLE: table.name }, dynamo: table.dynamo })
  await instance.listen({ port: 0, host: '127.0.0.1' })
  const { port } = instance.server.address() as AddressInfo
  const cap = CONNECTION_LIMITS.maxConnectionsPerAddress
  t.ok(cap * 8 <= CONNECTION_LIMITS.maxConnections, `${cap} per address: 8+ addresses are needed to fill the server`)

  const attacker = await openSlow(port, CONNECTION_LIMITS.maxConnections + 100, 1)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const held = attacker.filter((s) => !s.socket.destroyed)
  t.equal(held.length, cap, `${held.length} of ${attacker.length} held from one address`)
  const connections = await new Promise<number>((resolve, reject) => instance.server.getConnections((err, n) => err === null ? resolve(n) : reject(err)))
  t.equal(connections, cap, 'the server counts only those')

  // Another address is served at once, and the attacker's address again once its slots free.
  const other = await new Promise<string>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.99' })
    let answer = ''
    socket.on('data', (c: Buffer) => { answer += c.toString() }).on('error', reject).on('close', () => resolve(answer))
    socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'))
  })
  t.match(other, /^HTTP\/1\.1 200 /, 'a client from another address gets its answer')
  for (const s of attacker) s.socket.destroy()
  await Promise.all(attacker.map(async (s) => await s.closed))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const again = await openSlow(port, 1, 1)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.notOk(again[0]?.socket.destroyed, 'the count goes down as sockets close')
  again[0]?.socket.destroy()
})

t.test('behind a proxy (TRUST_PROXY) the peer is the proxy: only the total limit applies', async (t) => {
  const table = await createTestTable(t, 'limits')
  const config = testConfig({ TOKENS_TABLE: table.name, TRUST_PROXY: '1' })
  const instance = Fastify(serverOptions(config, undefined, { ...CONNECTION_LIMITS, maxConnections: 150, maxConnectionsPerAddress: 10 }))
  await instance.register(app, { config, dynamo: table.dynamo })
  t.teardown(() => instance.close())
  await instance.listen({ port: 0, host: '127.0.0.1' })
  const { port } = instance.server.address() as AddressInfo
  const slow = await openSlow(port, 120, 1)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(slow.filter((s) => !s.socket.destroyed).length, 120, 'one address (the balancer) may hold up to the total')
  for (const s of slow) s.socket.destroy()
})

t.test('a path parameter over 200 characters: 414 in the contract\'s JSON error shape, the path not quoted back', async (t) => {
  const table = await createTestTable(t, 'limits')
  const instance = await buildApp(t, { env: { TOKENS_TABLE: table.name }, dynamo: table.dynamo })
  const canary = `CANARY${'x'.repeat(200)}`
  for (const url of [`/api/auth/${canary}`, `/api/internal/tokens/${canary}/reddit`, `/api/auth/${canary}/callback?code=c&state=s`]) {
    const res = await instance.inject({ method: 'GET', url })
    t.equal(res.statusCode, 414, url.slice(0, 30))
    t.same(res.json(), { ok: false, error: 'uri_too_long' })
    t.match(res.headers['content-type'], /^application\/json/)
    t.notOk(res.body.includes('CANARY'), 'the path is not echoed')
  }
  const bad = await instance.inject({ method: 'GET', url: '/api/auth/%E0%A4%A' })
  t.equal(bad.statusCode, 400, 'a malformed percent-encoding')
  t.same(bad.json(), { ok: false, error: 'bad_request' })
  const at = await instance.inject({ method: 'GET', url: `/api/auth/${'x'.repeat(200)}` })
  t.not(at.statusCode, 414, '200 characters is within the limit: the route answers it')
  t.match(at.json(), { ok: false, error: String }, 'in the contract shape (here the identity check answers first)')
})
