// Decorates the instance with the loaded configuration and the clock every module reads time from.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    clock: () => number
  }
}

export interface ConfigPluginOptions {
  readonly config: Config
  readonly clock?: (() => number) | undefined
}

const configPlugin: FastifyPluginAsync<ConfigPluginOptions> = async (app, opts) => {
  app.decorate('config', opts.config)
  app.decorate('clock', opts.clock ?? Date.now)
}

export default fp(configPlugin, { name: 'config' })
