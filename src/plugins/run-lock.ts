// Decorates the instance with the cron run lock (its lease derived once, in Config).
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createLock, type RunLock } from '../store/lock.js'

declare module 'fastify' {
  interface FastifyInstance {
    cronLock: RunLock
  }
}

const runLockPlugin: FastifyPluginAsync = async (app) => {
  app.decorate('cronLock', createLock({
    doc: app.dynamo.doc,
    table: app.config.tokensTable,
    leaseMs: app.config.run.lockLeaseMs,
    now: app.clock
  }))
}

export default fp(runLockPlugin, { name: 'cron-lock', dependencies: ['config', 'store'] })
