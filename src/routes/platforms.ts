// The signed-in user's connections: GET /api/platforms/status (never a token) and
// DELETE /api/platforms/:platform (revoke at the provider where it can, then forget the tokens).
// The user is always the verified JWT's `sub`, never a parameter: nobody reads or changes another's rows.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { allowedCrossSite } from '../auth/cross-site.js'
import { ErrorResponse, ERROR_CODES, HttpError } from '../errors.js'
import { PLATFORM_NAMES, type PlatformName } from '../platforms/registry.js'
import { TOKEN_STATUS, type TokenRecord } from '../store/token-item.js'
import { platformOr404 } from './auth.js'
import { isoTime } from '../iso-time.js'

export const CONNECTION_STATUS = {
  connected: 'connected',
  needsReauth: 'needs_reauth',
  notConnected: 'not_connected',
  notConfigured: 'not_configured'
} as const
export type ConnectionStatus = typeof CONNECTION_STATUS[keyof typeof CONNECTION_STATUS]

// Every field is listed, none is a token: the serializer drops whatever a schema does not name.
const PlatformStatus = Type.Object({
  status: Type.Union([
    Type.Literal(CONNECTION_STATUS.connected), Type.Literal(CONNECTION_STATUS.needsReauth),
    Type.Literal(CONNECTION_STATUS.notConnected), Type.Literal(CONNECTION_STATUS.notConfigured)
  ]),
  account: Type.Optional(Type.Object({ id: Type.String(), username: Type.Optional(Type.String()) }, { additionalProperties: false })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  lastRefreshedAt: Type.Optional(Type.String({ format: 'date-time' })),
  scopes: Type.Optional(Type.Array(Type.String()))
}, { additionalProperties: false })
type PlatformStatusBody = Static<typeof PlatformStatus>

const StatusResponse = Type.Object({
  platforms: Type.Object(Object.fromEntries(PLATFORM_NAMES.map((name) => [name, PlatformStatus])), { additionalProperties: false })
}, { additionalProperties: false })

const DisconnectResponse = Type.Object({ ok: Type.Literal(true), revoked: Type.Boolean() }, { additionalProperties: false })
const Errors = { 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse }

/** One platform's status for its owner: what the frontend shows, nothing it could act with. */
function platformStatus (configured: boolean, record: TokenRecord | undefined): PlatformStatusBody {
  if (!configured) return { status: CONNECTION_STATUS.notConfigured }
  if (record === undefined) return { status: CONNECTION_STATUS.notConnected }
  const body: Record<string, unknown> = {
    status: record.status === TOKEN_STATUS.needsReauth ? CONNECTION_STATUS.needsReauth : CONNECTION_STATUS.connected,
    account: record.account.username === undefined ? { id: record.account.id } : { id: record.account.id, username: record.account.username },
    scopes: [...record.scopes]
  }
  const expiresAt = isoTime(record.expiresAtMs)
  const lastRefreshedAt = isoTime(record.lastRefreshedAtMs)
  if (expiresAt !== undefined) body.expiresAt = expiresAt
  if (lastRefreshedAt !== undefined) body.lastRefreshedAt = lastRefreshedAt
  return body as PlatformStatusBody
}

function userIdOf (request: FastifyRequest): string {
  if (request.identity === null) throw new HttpError(401, ERROR_CODES.unauthenticated)
  return request.identity.userId
}

const platformsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A cookie-only DELETE from another site's page is refused before anything else (auth/cross-site.ts).
  app.addHook('onRequest', async (request) => {
    const header = (name: string): string | undefined => typeof request.headers[name] === 'string' ? request.headers[name] : undefined
    if (!allowedCrossSite({ method: request.method, authorization: header('authorization'), origin: header('origin'), secFetchSite: header('sec-fetch-site') }, app.config.appUrl)) {
      throw new HttpError(403, ERROR_CODES.crossSiteRequest)
    }
  })
  // Every route of this scope needs a signed-in user.
  app.addHook('onRequest', app.requireIdentity)

  app.get('/api/platforms/status', { schema: { response: { 200: StatusResponse, ...Errors } } }, async (request, reply) => {
    const userId = userIdOf(request)
    const records = new Map((await app.tokenStore.listByUser(userId)).map((r) => [r.platform, r]))
    const platforms = Object.fromEntries(PLATFORM_NAMES.map((name: PlatformName) =>
      [name, platformStatus(app.config.platforms[name].configured, records.get(name))]))
    reply.header('cache-control', 'no-store')
    return { platforms }
  })

  app.delete('/api/platforms/:platform', {
    schema: { params: Type.Object({ platform: Type.String({ maxLength: 40 }) }), response: { 200: DisconnectResponse, ...Errors } }
  }, async (request) => {
    const userId = userIdOf(request)
    const platform = platformOr404(app, request.params.platform)
    const key = { userId, platform: platform.name }
    const record = await app.tokenStore.get(key)
    if (record === undefined) throw new HttpError(404, ERROR_CODES.notConnected)
    let revoked = false
    // Without its client credentials a provider cannot be asked; the tokens are forgotten all the same.
    if (platform.config.configured) {
      try {
        revoked = await platform.revoke(app.tokenStore.openSecrets(record))
      } catch (err) {
        request.log.warn({ disconnect: { platform: platform.name, error: err instanceof Error ? err.name : 'unknown' } }, 'revocation failed')
      }
    }
    await app.tokenStore.deleteConnection(key)
    request.log.info({ disconnect: { platform: platform.name, revoked } }, 'connection deleted')
    return { ok: true as const, revoked }
  })
}

export default platformsRoutes
