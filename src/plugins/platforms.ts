// Decorates the instance with the platform registry, on one set of keep-alive provider connections
// (idle ones are unreferenced and time out by themselves: nothing to close).
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { Platform, PlatformModule } from '../platforms/platform.js'
import { createProviderHttp } from '../platforms/provider-http.js'
import { createPlatforms, type PlatformName } from '../platforms/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    platforms: Readonly<Record<PlatformName, Platform>>
  }
}

export interface PlatformsPluginOptions {
  /** The platform modules served, the registry's unless given (AppOptions.platformModules). */
  readonly modules?: readonly PlatformModule[] | undefined
}

const platformsPlugin: FastifyPluginAsync<PlatformsPluginOptions> = async (app, opts) => {
  const http = createProviderHttp({ timeoutMs: app.config.run.providerTimeoutMs, userAgent: app.config.run.providerUserAgent, now: app.clock })
  app.decorate('platforms', createPlatforms(app.config.platforms, http, opts.modules))
}

export default fp(platformsPlugin, { name: 'platforms', dependencies: ['config'] })
