// Decorates the instance with the internal route's token handout (refresh-on-read, one refresh per
// token per process). Nothing to close: its refreshes finish with the requests that wait for them.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createTokenHandout, type TokenHandout } from '../internal/token-handout.js'

declare module 'fastify' {
  interface FastifyInstance {
    tokenHandout: TokenHandout
  }
}

const tokenHandoutPlugin: FastifyPluginAsync = async (app) => {
  const { run } = app.config
  app.decorate('tokenHandout', createTokenHandout({
    store: app.tokenStore,
    platforms: app.platforms,
    now: app.clock,
    log: app.log.child({ component: 'internal' }),
    minTtlMs: run.tokenMinTtlMs,
    forceCooldownMs: run.internalForceCooldownMs,
    claimLeaseMs: run.claimLeaseMs,
    lapseMarginMs: run.lapseMarginMs,
    retentionDays: run.needsReauthRetentionDays
  }))
}

export default fp(tokenHandoutPlugin, { name: 'token-handout', dependencies: ['config', 'store', 'platforms'] })
