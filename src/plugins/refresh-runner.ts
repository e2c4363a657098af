// Decorates the instance with this process's refresh runner. On close (preClose), runs stop taking
// new tokens, finish the ones in flight and release the lock, and a new cron call is refused.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createRefreshRunner, type RefreshRunner } from '../refresh/refresh-runner.js'

declare module 'fastify' {
  interface FastifyInstance {
    refreshRuns: RefreshRunner
  }
}

const refreshRunnerPlugin: FastifyPluginAsync = async (app) => {
  app.decorate('refreshRuns', createRefreshRunner({
    lock: app.cronLock,
    store: app.tokenStore,
    platforms: () => Object.values(app.platforms),
    now: app.clock,
    log: app.log.child({ component: 'refresh' }),
    run: app.config.run,
    budget: app.providerBudget
  }))
  // preClose: before in-flight requests finish (a `?wait=true` call then gets its answer) and before
  // any onClose hook destroys the store's client that the runs still write through.
  app.addHook('preClose', async () => { await app.refreshRuns.close() })
}

export default fp(refreshRunnerPlugin, { name: 'refresh-runner', dependencies: ['config', 'store', 'platforms', 'cron-lock', 'provider-budget'] })
