// Decorates the instance with the cron run lock and the registry of this process's refresh runs.
// On close (preClose), runs stop taking new tokens, finish the ones in flight, and release the lock.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createRunRegistry, type RunRegistry } from '../refresh/run-registry.js'
import { createLock, lockLeaseMs, type RunLock } from '../store/lock.js'

declare module 'fastify' {
  interface FastifyInstance {
    cronLock: RunLock
    refreshRuns: RunRegistry
  }
}

const lockPlugin: FastifyPluginAsync = async (app) => {
  const { run } = app.config
  const lock = createLock({
    doc: app.dynamo.doc,
    table: app.config.tokensTable,
    leaseMs: lockLeaseMs(run.runBudgetMs, run.providerTimeoutMs),
    now: app.clock
  })
  app.decorate('cronLock', lock)
  app.decorate('refreshRuns', createRunRegistry({
    lock,
    store: app.tokenStore,
    platforms: () => Object.values(app.platforms),
    now: app.clock,
    log: app.log.child({ component: 'refresh' }),
    run
  }))
  // preClose: before in-flight requests finish (a `?wait=true` call then gets its answer) and before
  // any onClose hook destroys the store's client that the runs still write through.
  app.addHook('preClose', async () => { await app.refreshRuns.close() })
}

export default fp(lockPlugin, { name: 'cron-lock', dependencies: ['config', 'store', 'platforms'] })
