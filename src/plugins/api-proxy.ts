// Decorates the instance with the provider API proxy (proxy/api-proxy.ts): the handout for tokens, the
// fleet's provider budget for every upstream call, and keep-alive connections of its own to the
// providers' APIs (idle ones are unreferenced and time out by themselves: nothing to close).
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { ProviderBudget } from '../budget/provider-budget.js'
import { createProviderHttp } from '../platforms/provider-http.js'
import { createApiProxy, type ApiProxy } from '../proxy/api-proxy.js'

declare module 'fastify' {
  interface FastifyInstance {
    apiProxy: ApiProxy
  }
}

export interface ApiProxyPluginOptions {
  readonly budget: ProviderBudget
}

const apiProxyPlugin: FastifyPluginAsync<ApiProxyPluginOptions> = async (app, opts) => {
  const { run, proxy } = app.config
  app.decorate('apiProxy', createApiProxy({
    handout: app.tokenHandout,
    budget: opts.budget,
    platforms: app.platforms,
    http: createProviderHttp({ timeoutMs: run.providerTimeoutMs, userAgent: run.providerUserAgent, now: app.clock }),
    maxBodyBytes: proxy.maxBodyBytes,
    maxAnswerBytes: proxy.maxAnswerBytes,
    budgetWaitMs: 2_000
  }))
}

export default fp(apiProxyPlugin, { name: 'api-proxy', dependencies: ['config', 'platforms', 'token-handout'] })
