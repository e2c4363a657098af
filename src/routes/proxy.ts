// GET|POST|PUT|PATCH|DELETE /api/internal/proxy/:userId/:platform/<path>: a platform service calls the
// provider's API as the user without holding the token. Registered inside the internal scope, so the
// internal key guard and `no-store` apply; the steps are proxy/api-proxy.ts, this file maps its
// outcomes to HTTP. Bodies are not parsed here: the caller's stream goes upstream as it arrives.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import '../plugins/api-proxy.js'
import { ERROR_CODES, type ErrorCode } from '../errors.js'
import { PROXY_REFUSALS, type ProxyRefusal } from '../proxy/api-proxy.js'

/** Where the proxy lives inside the internal scope (routes/internal.ts registers it there). */
export const PROXY_PREFIX = '/proxy'

/** Each refusal as the contract's status and code (errors.ts, docs/contract.md "Errors"). */
const ANSWERS: Readonly<Record<ProxyRefusal, readonly [number, ErrorCode]>> = {
  [PROXY_REFUSALS.invalidPath]: [400, ERROR_CODES.invalidPath],
  // An unknown platform is the plain 404 of every unknown route.
  [PROXY_REFUSALS.unknownPlatform]: [404, ERROR_CODES.notFound],
  [PROXY_REFUSALS.notConnected]: [404, ERROR_CODES.notConnected],
  [PROXY_REFUSALS.needsReauth]: [409, ERROR_CODES.needsReauth],
  [PROXY_REFUSALS.bodyTooLarge]: [413, ERROR_CODES.bodyTooLarge],
  [PROXY_REFUSALS.rateLimited]: [429, ERROR_CODES.rateLimited],
  [PROXY_REFUSALS.upstreamUnavailable]: [502, ERROR_CODES.upstreamUnavailable],
  [PROXY_REFUSALS.upstreamTooLarge]: [502, ERROR_CODES.upstreamTooLarge],
  [PROXY_REFUSALS.providerUnavailable]: [503, ERROR_CODES.providerUnavailable],
  [PROXY_REFUSALS.upstreamTimeout]: [504, ERROR_CODES.upstreamTimeout]
}

interface Params { readonly userId: string, readonly platform: string }

/**
 * The request target split as it came, before any decoding: the path after `/:userId/:platform`
 * and the query. An absolute-form target (`GET http://host/…`) or anything not under `base` is no path.
 */
function splitTarget (rawUrl: string, base: string): { readonly rawPath: string, readonly rawQuery: string } | undefined {
  if (!rawUrl.startsWith(`${base}/`)) return undefined
  const q = rawUrl.indexOf('?')
  const pathPart = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const rawQuery = q === -1 ? '' : rawUrl.slice(q + 1)
  // `<base>/<userId>/<platform>/<path>`: the two segments are Fastify's params; the rest is ours.
  const rest = pathPart.slice(base.length + 1)
  const afterUser = rest.indexOf('/')
  const afterPlatform = afterUser === -1 ? -1 : rest.indexOf('/', afterUser + 1)
  if (afterPlatform === -1) return undefined
  return { rawPath: rest.slice(afterPlatform), rawQuery }
}

export default async function proxyRoutes (app: FastifyInstance): Promise<void> {
  // The body is the caller's, streamed upstream by the proxy under its own cap: no parser reads it.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  const base = `${app.prefix}`

  async function handler (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<FastifyReply> {
    const target = splitTarget(request.raw.url ?? '', base)
    const { userId, platform } = request.params
    const outcome = await app.apiProxy.call({
      key: { userId, platform },
      method: request.method,
      // An absolute-form request target or a path the router reshaped: refused as no plain path.
      rawPath: target?.rawPath ?? '',
      rawQuery: target?.rawQuery ?? '',
      headers: request.headers,
      body: request.raw,
      hasBody: request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0'),
      keyIndex: request.internalKeyIndex,
      log: request.log
    })
    if (outcome.kind === 'refused') {
      if (outcome.retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))))
      const [status, error] = ANSWERS[outcome.code]
      return await reply.code(status).send({ ok: false, error })
    }
    reply.code(outcome.status).headers(outcome.headers)
    if (outcome.length !== undefined && !Buffer.isBuffer(outcome.body)) reply.header('content-length', String(outcome.length))
    return await reply.send(outcome.body)
  }

  app.route<{ Params: Params }>({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/:userId/:platform/*',
    exposeHeadRoute: false,
    handler
  })
}
