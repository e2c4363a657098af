// Decorates the instance with the fleet's provider budget (src/budget), kept in the tokens table.
// Routes, the proxy and the platforms' HTTP funnel reach it here; nothing to close.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createFleetBudget, type FleetBudget } from '../budget/fleet-budget.js'
import type { PlatformConfig } from '../platforms/platform.js'
import { createBudgetStore } from '../store/budget-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    providerBudget: FleetBudget
  }
}

const providerBudgetPlugin: FastifyPluginAsync = async (app) => {
  const platforms: Readonly<Record<string, PlatformConfig>> = app.config.platforms
  app.decorate('providerBudget', createFleetBudget({
    store: createBudgetStore({ doc: app.dynamo.doc, table: app.config.tokensTable }),
    caps: (platform) => {
      const config = Object.hasOwn(platforms, platform) ? platforms[platform] : undefined
      return { perMinute: config?.requestsPerMinute, cronPerMinute: config?.cronRequestsPerMinute }
    },
    now: app.clock,
    log: app.log.child({ component: 'budget' })
  }))
}

export default fp(providerBudgetPlugin, { name: 'provider-budget', dependencies: ['config', 'store'] })
