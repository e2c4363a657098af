// The internal token route's guard, registered inside the internal scope only. Accepts exactly
// `Authorization: Bearer <key>` for one of INTERNAL_API_KEY's keys, compared in constant time
// (auth/secret-matcher.ts, as the cron guard). The cron secret, a key sent as `x-cron-secret`, a user
// JWT, the keys joined: all one 401. An unset INTERNAL_API_KEY refuses every caller.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { createSecretIndexer } from '../auth/secret-matcher.js'
import { ERROR_CODES } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Position in INTERNAL_API_KEY of the key this request presented (the audit log names it, never the key). */
    internalKeyIndex: number
  }
}

interface InternalGuardOptions {
  readonly keys: readonly string[]
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

const internalGuard: FastifyPluginAsync<InternalGuardOptions> = async (app, opts) => {
  const keys = opts.keys.filter((k) => k !== '')
  const indexOf = createSecretIndexer(keys)
  app.decorateRequest('internalKeyIndex', -1)
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const authorization = request.headers.authorization
    const presented = typeof authorization === 'string' ? BEARER.exec(authorization)?.[1] : undefined
    // Compared even when nothing usable was sent, so a refusal takes the time an attempt takes.
    const index = indexOf(presented ?? '')
    if (presented === undefined || keys.length === 0 || index === -1) {
      request.log.info({ reason: 'no valid internal API key presented' }, 'internal call refused')
      reply.header('cache-control', 'no-store')
      return reply.code(401).send({ ok: false, error: ERROR_CODES.unauthorized })
    }
    request.internalKeyIndex = index
    return undefined
  })
}

/** fastify-plugin so the hook applies to the scope that registers it (the internal scope), and only there. */
export default fp(internalGuard, { name: 'internal-guard' })
