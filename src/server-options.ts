// The Fastify options, in one function that server.ts and the test helper both call, so tests run
// with the real logger, redaction and timeouts.
import type { Server } from 'node:http'
import type { FastifyHttpOptions } from 'fastify'
import type { Config } from './config.js'
import { clientErrorHandler } from './client-error.js'
import { REDACT_PATHS, serializeRequest } from './log-redaction.js'

export function serverOptions (config: Pick<Config, 'logLevel' | 'nodeEnv'>, stream?: NodeJS.WritableStream): FastifyHttpOptions<Server> {
  return {
    logger: {
      level: config.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      serializers: {
        req: serializeRequest as never,
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
      },
      ...(stream === undefined ? {} : { stream })
    },
    // Behind Amplify / a load balancer: the client address comes from X-Forwarded-For.
    trustProxy: true,
    bodyLimit: 64 * 1024,
    // Node's default 16 KiB header limit answers a bare 431 before any hook runs; at 128 KiB an oversized
    // bogus credential (the cron guard's 100 KB case) still gets the contract's 401 body.
    http: { maxHeaderSize: 128 * 1024 },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    // Parser refusals answered in the contract's shape, logged without the raw bytes (client-error.ts).
    clientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } }
  }
}
