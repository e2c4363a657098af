// The Fastify options, in one function that server.ts and the test helper both call, so tests run
// with the real logger, redaction, timeouts and connection limits.
import { createServer, type RequestListener, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyHttpOptions } from 'fastify'
import pretty from 'pino-pretty'
import { clientErrorHandler, frameworkErrorHandler } from './client-error.js'
import type { Config } from './config.js'
import { REDACT_PATHS, serializeRequest } from './log-redaction.js'
import { traceLogFields, tracingActive } from './telemetry/tracing.js'

/**
 * Sized for one 512 MB container with a 256 MB V8 heap (docs/deploy.md has the reasoning and the
 * probe): a slow client costs about its header limit until headersTimeout ends it.
 */
export const CONNECTION_LIMITS = {
  /** Amplify's Cognito cookies (access + id token, ~2–8 KiB each) fit; a 100 KB bogus secret is a 431. */
  maxHeaderSize: 32 * 1024,
  /** ~1,024 × ≤ 40 KiB of header buffers and sockets ≈ 40 MB at worst, far under the container. */
  maxConnections: 1_024,
  /**
   * What one peer address may hold at once when clients connect directly (no TRUST_PROXY): one client
   * sending half its headers no longer fills all 1,024 slots (it did in about a second, and kept every
   * new connection refused for 10 s, renewably). Behind a load balancer the peer is the balancer, which
   * sends a request on only once its headers are complete (docs/deploy.md): the cap is then the total.
   */
  maxConnectionsPerAddress: 64,
  /** A client gets this long to send its headers (Node's default is 60 s). */
  headersTimeoutMs: 10_000,
  /** …and this long for the whole request (the body limit is 64 KiB). */
  requestTimeoutMs: 30_000,
  /** Socket inactivity. */
  connectionTimeoutMs: 30_000,
  /** Idle keep-alive sockets close after this (the proxies in front reuse theirs within it). */
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks headersTimeout / requestTimeout (default 30 s, which held sockets 42 s). */
  connectionsCheckingIntervalMs: 1_000
} as const
export type ConnectionLimits = { readonly [K in keyof typeof CONNECTION_LIMITS]: number }

/** Fastify takes a hop count too, but its types do not: a count is the function proxy-addr would make. */
function trustProxyOption (trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust
  return trust === false ? false : [...trust]
}

/**
 * Development logs for a person at a terminal: one readable line per event. The JSON a log pipeline
 * reads stays the format everywhere else; redaction happens in pino before either.
 */
export function developmentLogStream (destination: NodeJS.WritableStream | number = 1, colorize = process.stdout.isTTY): NodeJS.WritableStream {
  return pretty({ destination, colorize, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
}

/**
 * Closes a new connection at once when its peer address already holds `cap` of them. The counts are
 * this process's own sockets, so a second instance keeps its own: nothing to share.
 */
function capConnectionsPerAddress (server: Server, cap: number): void {
  const held = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const count = held.get(address) ?? 0
    if (count >= cap) {
      socket.destroy()
      return
    }
    held.set(address, count + 1)
    socket.once('close', () => {
      const left = (held.get(address) ?? 1) - 1
      if (left <= 0) held.delete(address)
      else held.set(address, left)
    })
  })
}

export function serverOptions (
  config: Pick<Config, 'logLevel' | 'nodeEnv'> & Partial<Pick<Config, 'trustProxy'>>,
  stream?: NodeJS.WritableStream,
  limits: ConnectionLimits = CONNECTION_LIMITS
): FastifyHttpOptions<Server> {
  return {
    logger: {
      level: config.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      // With tracing on, each line carries the active span's trace_id and span_id; off, no mixin runs.
      ...(tracingActive() ? { mixin: traceLogFields } : {}),
      serializers: {
        req: serializeRequest as never,
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
      },
      // A stream given (the tests') is used as is; otherwise development pretty-prints, the rest is JSON.
      ...(stream !== undefined ? { stream } : config.nodeEnv === 'development' ? { stream: developmentLogStream() } : {})
    },
    // Only as far as the deployment's proxies go (TRUST_PROXY): `true` would take any client's
    // X-Forwarded-For as its address.
    trustProxy: trustProxyOption(config.trustProxy ?? false),
    bodyLimit: 64 * 1024,
    // Fastify has no option for maxConnections, headersTimeout or the checking interval: build the
    // server here with every limit, so nothing depends on Fastify applying some of them.
    serverFactory: (handler: RequestListener) => {
      const server = createServer({
        maxHeaderSize: limits.maxHeaderSize,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: limits.connectionsCheckingIntervalMs
      }, handler)
      server.setTimeout(limits.connectionTimeoutMs)
      server.maxConnections = limits.maxConnections
      const direct = (config.trustProxy ?? false) === false
      capConnectionsPerAddress(server, direct ? limits.maxConnectionsPerAddress : limits.maxConnections)
      return server
    },
    connectionTimeout: limits.connectionTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    return503OnClosing: true,
    // Parser refusals answered in the contract's shape, logged without the raw bytes (client-error.ts).
    clientErrorHandler,
    // The router's refusals (a path parameter over 200 characters: 414) in the same shape, no path quoted.
    frameworkErrors: frameworkErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } }
  }
}
