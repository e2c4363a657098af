// Decorates the instance with the provider API proxy (proxy/api-proxy.ts): the handout for tokens, the
// fleet's provider budget for every upstream call, and keep-alive connections of its own to the
// providers' APIs (idle ones are unreferenced and time out by themselves: nothing to close).
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createProviderHttp } from '../platforms/provider-http.js'
import { createApiProxy, type ApiProxy } from '../proxy/api-proxy.js'

declare module 'fastify' {
  interface FastifyInstance {
    apiProxy: ApiProxy
  }
}

const apiProxyPlugin: FastifyPluginAsync = async (app) => {
  const { run, proxy } = app.config
  app.decorate('apiProxy', createApiProxy({
    handout: app.tokenHandout,
    // Its own connections carry no gate (src/budget/provider-gate.ts): the proxy takes and observes itself.
    budget: app.providerBudget,
    platforms: app.platforms,
    http: createProviderHttp({ timeoutMs: run.providerTimeoutMs, userAgent: run.providerUserAgent, now: app.clock }),
    maxBodyBytes: proxy.maxBodyBytes,
    maxAnswerBytes: proxy.maxAnswerBytes,
    budgetWaitMs: run.providerBudgetWaitMs
  }))
}

export default fp(apiProxyPlugin, { name: 'api-proxy', dependencies: ['config', 'provider-budget', 'platforms', 'token-handout'] })
