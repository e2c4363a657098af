// Decorates the instance with the platform registry, built on the injected fetch.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { Platform, PlatformName } from '../platforms/platform.js'
import { createProviderHttp } from '../platforms/provider-http.js'
import { createPlatforms } from '../platforms/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    platforms: Readonly<Record<PlatformName, Platform>>
  }
}

export interface PlatformsPluginOptions {
  readonly fetch?: typeof fetch | undefined
}

const platformsPlugin: FastifyPluginAsync<PlatformsPluginOptions> = async (app, opts) => {
  const http = createProviderHttp({
    fetch: opts.fetch, timeoutMs: app.config.run.providerTimeoutMs, userAgent: app.config.run.providerUserAgent, now: app.clock
  })
  app.decorate('platforms', createPlatforms(app.config, http))
}

export default fp(platformsPlugin, { name: 'platforms', dependencies: ['config'] })
