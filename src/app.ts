// The application as one plugin: explicit registrations, no autoload. server.ts and the tests both
// register it on an instance built from serverOptions().
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from './config.js'
import { ERROR_CODES, ErrorResponse, HttpError } from './errors.js'
import cookie from '@fastify/cookie'
import helmet from '@fastify/helmet'
import configPlugin from './plugins/config.js'
import identityPlugin from './plugins/identity.js'
import platformsPlugin from './plugins/platforms.js'
import providerBudgetPlugin from './plugins/provider-budget.js'
import refreshRunnerPlugin from './plugins/refresh-runner.js'
import runLockPlugin from './plugins/run-lock.js'
import storePlugin from './plugins/store.js'
import tokenHandoutPlugin from './plugins/token-handout.js'
import apiProxyPlugin from './plugins/api-proxy.js'
import webhooksPlugin, { type WebhooksPluginOptions } from './plugins/webhooks.js'
import authRoutes from './routes/auth.js'
import cronRoutes from './routes/cron.js'
import devRoutes from './dev/routes.js'
import healthRoutes from './routes/health.js'
import internalRoutes, { INTERNAL_PREFIX } from './routes/internal.js'
import platformsRoutes from './routes/platforms.js'
import type { PlatformModule } from './platforms/platform.js'
import type { SandboxHub } from './sandbox/control.js'
import sandboxPlugin from './sandbox/plugin.js'
import { StoreUnavailableError } from './store/errors.js'
import type { DynamoClients } from './store/dynamodb-client.js'

export interface AppOptions {
  readonly config: Config
  readonly clock?: (() => number) | undefined
  /** Clients made by the caller (tests); otherwise the store plugin makes and closes its own. */
  readonly dynamo?: DynamoClients | undefined
  /** The fetch the identity plugin reads Cognito's JWKS with. */
  readonly fetch?: typeof fetch | undefined
  /** The webhook worker's timings (tests). */
  readonly webhooks?: WebhooksPluginOptions | undefined
  /** The sandbox's hub made by the caller (tests); otherwise the sandbox plugin makes its own. */
  readonly sandbox?: SandboxHub | undefined
  /**
   * The platform modules served, the registry's unless given: a test adds a platform defined in the
   * test alone (its config loaded with the same list, `loadConfig(env, { platforms })`).
   */
  readonly platformModules?: readonly PlatformModule[] | undefined
}

export default async function app (instance: FastifyInstance, opts: AppOptions): Promise<void> {
  instance.addSchema(ErrorResponse)
  // An API's headers: nothing here is a page to frame, script or sniff (every answer is JSON or a 302).
  await instance.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] } },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' }
  })
  await instance.register(configPlugin, { config: opts.config, clock: opts.clock })
  await instance.register(storePlugin, { dynamo: opts.dynamo })
  // The fleet's provider budget, before the platforms whose every call it counts.
  await instance.register(providerBudgetPlugin)
  await instance.register(platformsPlugin, { modules: opts.platformModules })
  // The cron run lock, and this process's refresh runs (stopped cleanly on close).
  await instance.register(runLockPlugin)
  await instance.register(refreshRunnerPlugin)
  await instance.register(tokenHandoutPlugin)
  await instance.register(apiProxyPlugin)
  // Connection events: each instance delivers what the outbox holds.
  await instance.register(webhooksPlugin, opts.webhooks ?? {})
  // Signed cookies (the connect flow's browser binding) and the Amplify session cookies identity reads.
  await instance.register(cookie, { secret: opts.config.cookieSecret, hook: 'onRequest' })
  await instance.register(identityPlugin, { fetch: opts.fetch })

  instance.setErrorHandler(errorHandler)
  instance.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ ok: false, error: ERROR_CODES.notFound })
  })

  // Routes, each in its own scope (security hooks live in the scope they guard).
  await instance.register(healthRoutes)
  await instance.register(cronRoutes)
  await instance.register(authRoutes)
  await instance.register(platformsRoutes)
  await instance.register(internalRoutes, { prefix: INTERNAL_PREFIX })
  // The development sandbox's providers (docs/sandbox.md); never registered in production.
  if (opts.config.sandbox.enabled) await instance.register(sandboxPlugin, { hub: opts.sandbox, modules: opts.platformModules })
  else instance.decorate('sandbox', null)
  // Development only, never registered otherwise: the sign-in standing in for Cognito and /dev (docs/dev-console.md).
  if (opts.config.nodeEnv === 'development') await instance.register(devRoutes)
}

/** 4xx say what was wrong; 5xx say nothing internal. Logs carry names and codes, never bodies. */
function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof HttpError) {
    reply.code(error.statusCode).send({ ok: false, error: error.code, ...(error.message === error.code ? {} : { message: error.message }) })
    return
  }
  if (error instanceof StoreUnavailableError) {
    request.log.error({ error: { name: error.name, errorCode: error.code, message: error.message } }, 'store unavailable')
    reply.code(503).send({ ok: false, error: ERROR_CODES.storeUnavailable })
    return
  }
  if (error.validation !== undefined) {
    reply.code(400).send({ ok: false, error: ERROR_CODES.badRequest, message: `${error.validationContext ?? 'request'} ${error.validation[0]?.instancePath ?? ''} ${error.validation[0]?.message ?? 'is invalid'}`.replace(/\s+/g, ' ').trim() })
    return
  }
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
  if (status < 500) {
    reply.code(status).send({ ok: false, error: status === 404 ? ERROR_CODES.notFound : ERROR_CODES.badRequest, message: error.code ?? 'bad request' })
    return
  }
  request.log.error({ error: { name: error.name, errorCode: error.code } }, 'unhandled error')
  reply.code(500).send({ ok: false, error: ERROR_CODES.internal })
}
