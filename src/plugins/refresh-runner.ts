// Decorates the instance with this process's refresh runner. On close (preClose), runs stop taking
// new tokens, finish the ones in flight and release the lock, and a new cron call is refused.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { randomUUID } from 'node:crypto'
import { createRefreshRunner, type RefreshRunner } from '../refresh/refresh-runner.js'
import { createPartLeases } from '../store/part-leases.js'

declare module 'fastify' {
  interface FastifyInstance {
    refreshRuns: RefreshRunner
  }
}

const refreshRunnerPlugin: FastifyPluginAsync = async (app) => {
  const { refreshParts, claimLeaseMs } = app.config.run
  // A part's lease is as long as a token's claim: when a dead holder's part is taken again, the
  // tokens it had claimed are free again too.
  const leases = createPartLeases({ doc: app.dynamo.doc, table: app.config.tokensTable, leaseMs: claimLeaseMs, now: app.clock })
  // Looked for at least every 5 s (a pass's other instances join within that), and well inside a lease.
  const pollMs = Math.max(100, Math.min(5_000, Math.round(claimLeaseMs / 3)))
  app.decorate('refreshRuns', createRefreshRunner({
    lock: app.cronLock,
    store: app.tokenStore,
    platforms: () => Object.values(app.platforms),
    now: app.clock,
    log: app.log.child({ component: 'refresh' }),
    run: app.config.run,
    budget: app.providerBudget,
    parts: { count: refreshParts, leases, holder: randomUUID(), pollMs }
  }))
  if (refreshParts > 1) {
    // Every instance looks for the open parts of a pass (one eventually consistent Query of the lock's
    // partition: half a read unit), so a pass started by one cron call is shared by the fleet.
    const timer = setInterval(() => { app.refreshRuns.joinOpenPass().catch(() => {}) }, pollMs)
    timer.unref()
    app.addHook('preClose', async () => { clearInterval(timer) })
  }
  // preClose: before in-flight requests finish (a `?wait=true` call then gets its answer) and before
  // any onClose hook destroys the store's client that the runs still write through.
  app.addHook('preClose', async () => { await app.refreshRuns.close() })
}

export default fp(refreshRunnerPlugin, { name: 'refresh-runner', dependencies: ['config', 'store', 'platforms', 'cron-lock', 'provider-budget'] })
