// The sandbox's HTTP face: each sandboxed provider's route table under /sandbox/<platform>, carried
// over Fastify (the wire itself is src/sandbox/providers, the same the test fakes serve). The authorize
// step shows a consent page and takes the user's decision by POST; a refresh may answer the failure
// the control switch holds; POST /sandbox/<platform>/fail-next sets that switch from a form.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import { allowedCrossSite } from '../auth/cross-site.js'
import { ERROR_CODES, HttpError } from '../errors.js'
import type { PlatformName } from '../platforms/registry.js'
import { consentPage, consentPageCsp } from './consent-page.js'
import { isSandboxFailure, type SandboxHub } from './control.js'
import type { OAuthProvider } from './providers/oauth-provider.js'
import { answer, HANG, serialize, type Reply, type Route, type WireRequest } from './providers/wire.js'
import { SANDBOX_PREFIX } from './sandbox-env.js'

export interface SandboxRoutesOptions {
  readonly hub: SandboxHub
  /** A held (timeout) refresh is let go after this long at most (past the service's provider timeout). */
  readonly holdMs: number
  /** Where the consent form's redirects may go besides the redirect URI: the app. */
  readonly appUrl: string
}

const single = (params: URLSearchParams): Record<string, string> => Object.fromEntries(params)

/** The Fastify request as the wire sees it (the path without the sandbox prefix). */
function wireRequest (request: FastifyRequest, prefix: string): WireRequest {
  const url = new URL(request.url, 'http://sandbox.invalid')
  const body = typeof request.body === 'string' ? request.body : ''
  const isForm = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
  return {
    method: request.method,
    path: url.pathname.slice(prefix.length),
    query: single(url.searchParams),
    headers: request.headers,
    form: isForm ? single(new URLSearchParams(body)) : {},
    body
  }
}

function send (reply: FastifyReply, answered: Reply): FastifyReply {
  const { headers, payload } = serialize(answered)
  return reply.code(answered.status).headers({ 'cache-control': 'no-store', ...headers }).send(payload)
}

/** Holds a request unanswered until the client leaves, the service closes, or `ms` passes. */
async function hold (request: FastifyRequest, ms: number, closing: AbortSignal): Promise<void> {
  const left = new AbortController()
  const onClose = (): void => { left.abort() }
  request.raw.socket.once('close', onClose)
  try {
    await sleep(ms, undefined, { signal: AbortSignal.any([left.signal, closing]) })
  } catch {} finally {
    request.raw.socket.off('close', onClose)
  }
}

export default async function sandboxRoutes (app: FastifyInstance, opts: SandboxRoutesOptions): Promise<void> {
  // The wire reads bodies itself (form or not), as the providers receive them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  // Another site's page must not drive the sandbox (queue a failure, answer a consent page): a POST
  // from a browser must come from the app or the sandbox's own pages, as the /dev console's forms must
  // (auth/cross-site.ts). The service's own calls to the token endpoints send neither Origin nor fetch
  // metadata and go on; an Authorization header exempts nothing (a form cannot send one anyway).
  const origins = [opts.appUrl, ...opts.hub.platforms.map((platform) => opts.hub.provider(platform).redirectUri)]
  app.addHook('onRequest', async (request) => {
    const header = (name: string): string | undefined => typeof request.headers[name] === 'string' ? request.headers[name] : undefined
    const seen = { method: request.method, origin: header('origin'), secFetchSite: header('sec-fetch-site') }
    if (!origins.some((url) => allowedCrossSite(seen, url))) throw new HttpError(403, ERROR_CODES.crossSiteRequest)
  })
  for (const platform of opts.hub.platforms) platformRoutes(app, platform, opts.hub.provider(platform), opts)
}

function platformRoutes (app: FastifyInstance, platform: PlatformName, provider: OAuthProvider, opts: SandboxRoutesOptions): void {
  const prefix = `${SANDBOX_PREFIX}/${platform}`
  for (const route of provider.routes) {
    const url = `${prefix}${route.path}`
    if (route.method === 'GET' && route.path === provider.address.paths.authorize) {
      consentRoutes(app, platform, provider, url, opts)
      continue
    }
    app.route({
      method: route.method as 'GET' | 'POST',
      url,
      exposeHeadRoute: false,
      handler: async (request, reply) => await wireRoute(route, platform, provider, opts, request, reply, prefix)
    })
  }
  app.post(`${prefix}/fail-next`, async (request, reply) => {
    const kind = new URLSearchParams(typeof request.body === 'string' ? request.body : '').get('kind')
    if (!isSandboxFailure(kind)) return await reply.code(400).send({ ok: false, error: 'bad_request', message: 'kind must be invalid_grant, server_error or timeout' })
    opts.hub.failNextRefresh(platform, kind)
    return await reply.code(204).send()
  })
}

async function wireRoute (
  route: Route, platform: PlatformName, provider: OAuthProvider, opts: SandboxRoutesOptions,
  request: FastifyRequest, reply: FastifyReply, prefix: string
): Promise<FastifyReply> {
  const wire = wireRequest(request, prefix)
  const endpoint = route.endpoint(wire)
  provider.notePresentation(endpoint, wire)
  const answered = await answer(route, wire, endpoint === 'refresh' ? opts.hub.takeRefreshFault(platform) : undefined)
  if (answered === HANG) {
    await hold(request, opts.holdMs, opts.hub.closing)
    return send(reply, { status: 504, text: 'Gateway Timeout' })
  }
  return send(reply, answered)
}

function consentRoutes (app: FastifyInstance, platform: PlatformName, provider: OAuthProvider, url: string, opts: SandboxRoutesOptions): void {
  const origins = [new URL(provider.redirectUri).origin, new URL(opts.appUrl).origin]
  app.get(url, { exposeHeadRoute: false }, async (request, reply) => {
    const query = single(new URL(request.url, 'http://sandbox.invalid').searchParams)
    const refused = provider.checkAuthorize(query)
    if (refused !== undefined) return send(reply, refused)
    const scopes = (query.scope ?? '').split(/[\s,]+/).filter((s) => s !== '')
    return await reply.code(200)
      .headers({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': consentPageCsp(origins) })
      .send(consentPage({ platform, action: url, query, username: provider.user.username, scopes }))
  })
  app.post(url, async (request, reply) => {
    const { decision, ...query } = single(new URLSearchParams(typeof request.body === 'string' ? request.body : ''))
    if (decision !== 'allow' && decision !== 'deny') return send(reply, { status: 400, headers: { 'content-type': 'text/plain' }, text: 'decision must be allow or deny' })
    return send(reply, provider.decideAuthorize(query, decision))
  })
}
