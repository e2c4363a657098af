// GET /api/internal/tokens/:userId/:platform: platform services get a usable access token. Its own
// scope and guard (Bearer INTERNAL_API_KEY); the logic is internal/token-handout.ts, this file maps
// its outcomes to HTTP. The only route that ever answers a token; every answer is `no-store`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ERROR_CODES, ErrorResponse, HttpError } from '../errors.js'
import { HANDOUT_OUTCOMES } from '../internal/token-handout.js'
import internalGuard from '../plugins/internal-guard.js'
import proxyRoutes, { PROXY_PREFIX } from './proxy.js'

// Every field listed, never a refresh token: the serializer drops whatever the schema does not name.
const TokenResponse = Type.Object({
  accessToken: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  account: Type.Object({ id: Type.String(), username: Type.Optional(Type.String()) }, { additionalProperties: false }),
  scopes: Type.Array(Type.String())
}, { additionalProperties: false })

/** Retry-After of a 503 whose cause announced no time of its own. */
const DEFAULT_RETRY_AFTER_MS = 5_000

const internalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Before the guard: its 401 is no-store too, as is every error the handler answers.
  app.addHook('onRequest', async (_request, reply) => { reply.header('cache-control', 'no-store') })
  await app.register(internalGuard, { keys: app.config.internalApiKeys })
  // Unknown paths under the prefix answer from this scope: guarded and no-store like the route.
  app.setNotFoundHandler((_request, reply) => { reply.code(404).send({ ok: false, error: ERROR_CODES.notFound }) })
  // The provider API proxy: the same guard and no-store, a scope of its own for its body handling.
  await app.register(proxyRoutes, { prefix: PROXY_PREFIX })

  app.get('/tokens/:userId/:platform', {
    schema: {
      params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }), platform: Type.String({ minLength: 1, maxLength: 40 }) }),
      // Only `force` means something; any other parameter is ignored.
      querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
      response: { 200: TokenResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse }
    }
  }, async (request, reply) => {
    const { userId, platform } = request.params
    const result = await app.tokenHandout.handOut({ userId, platform }, { force: request.query.force === true })
    switch (result.kind) {
      case HANDOUT_OUTCOMES.token:
        request.log.info({ handout: { userId, platform, keyIndex: request.internalKeyIndex, refreshed: result.refreshed, reason: result.reason } }, 'token handed out')
        return {
          accessToken: result.accessToken,
          expiresAt: new Date(result.expiresAtMs).toISOString(),
          account: result.account.username === undefined ? { id: result.account.id } : { id: result.account.id, username: result.account.username },
          scopes: [...result.scopes]
        }
      case HANDOUT_OUTCOMES.unknownPlatform: throw new HttpError(404, ERROR_CODES.notFound)
      case HANDOUT_OUTCOMES.notConnected: throw new HttpError(404, ERROR_CODES.notConnected)
      case HANDOUT_OUTCOMES.needsReauth: throw new HttpError(409, ERROR_CODES.needsReauth)
      default:
        request.log.warn({ handout: { userId, platform, reason: result.reason } }, 'token not handed out: expired and the provider did not refresh it')
        // Every 503 says when to come back: the budget's room or pause, the token's backoff, else a guess.
        reply.header('retry-after', String(Math.max(1, Math.ceil((result.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS) / 1000))))
        throw new HttpError(503, ERROR_CODES.providerUnavailable)
    }
  })
}

/** Registered with this prefix (app.ts): the scope's 404 handler covers every path under it. */
export const INTERNAL_PREFIX = '/api/internal'

export default internalRoutes
