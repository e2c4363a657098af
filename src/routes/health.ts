// Liveness (the process answers) and readiness (the store answers) for the load balancer.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ErrorResponse } from '../errors.js'
import { pingStore } from '../store/probe.js'

const Ok = Type.Object({ ok: Type.Literal(true) })

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: { response: { 200: Ok } } }, async () => ({ ok: true as const }))

  app.get('/readyz', { schema: { response: { 200: Ok, 503: ErrorResponse } } }, async () => {
    await pingStore(app.dynamo.doc, app.config.tokensTable)
    return { ok: true as const }
  })
}

export default healthRoutes
