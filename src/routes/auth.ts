// The connect flow: GET /api/auth/:platform (a signed-in user) starts it with a one-time state, PKCE
// where the provider takes it and a browser-binding cookie; GET /api/auth/:platform/callback (the
// provider's redirect, authenticated by that state) runs the callback's steps (auth/connect-flow.ts)
// and maps their outcome to a redirect.
// @see https://datatracker.ietf.org/doc/html/rfc9700 (OAuth 2.0 security BCP) and docs/connect-flow.md
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { completeConnect, CONNECTED } from '../auth/connect-flow.js'
import { flowStartRateLimit } from './flow-rate.js'
import { codeChallengeS256, randomCodeVerifier } from '../auth/pkce.js'
import { bindingHash, randomToken } from '../auth/random-token.js'
import { appRedirect, safeReturnTo } from '../auth/return-to.js'
import { ErrorResponse, ERROR_CODES, HttpError } from '../errors.js'
import type { Platform } from '../platforms/platform.js'
import type { PlatformName } from '../platforms/registry.js'
import { STATE_LIFETIME_MS } from '../store/oauth-state.js'

const FLOW_COOKIE_PATH = '/api/auth'
/** One cookie per platform: connecting TikTok in one tab does not break a Reddit flow in another. */
const flowCookieName = (platform: string): string => `oauth_flow_${platform}`

const PlatformParams = Type.Object({ platform: Type.String({ maxLength: 40 }) })
// Loose on purpose: a duplicated or odd parameter must end in the contract's redirect, not a 400.
const Loose = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))
const StartQuery = Type.Object({ returnTo: Loose })
const CallbackQuery = Type.Object({ code: Loose, state: Loose, error: Loose })
const Errors = { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse }

export function platformOr404 (app: FastifyInstance, name: string): Platform {
  // The app's own platforms (the registry's, or those a test gave the app): no name is special here.
  const platform = Object.hasOwn(app.platforms, name) ? app.platforms[name as PlatformName] : undefined
  if (platform === undefined) throw new HttpError(404, ERROR_CODES.notFound)
  return platform
}

const single = (value: string | string[] | undefined): string | undefined => typeof value === 'string' ? value : undefined

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const states = app.oauthStates
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: app.config.nodeEnv !== 'development',
    path: FLOW_COOKIE_PATH
  }
  const noStore = (reply: FastifyReply): FastifyReply =>
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')

  // Start: only for a signed-in user (the hook lives in this scope alone).
  await app.register(async (scope) => {
    scope.addHook('onRequest', scope.requireIdentity)
    // A per-user cap on starts (src/routes/flow-rate.ts); only the routes that ask for it are limited.
    await scope.register(rateLimit, { global: false })
    scope.withTypeProvider<TypeBoxTypeProvider>().get('/api/auth/:platform', { exposeHeadRoute: false, config: { rateLimit: flowStartRateLimit }, schema: { params: PlatformParams, querystring: StartQuery, response: Errors } }, async (request, reply) => {
      const platform = platformOr404(app, request.params.platform)
      if (!platform.config.configured) throw new HttpError(409, ERROR_CODES.notConfigured, `${platform.name} is not configured on this service`)
      const identity = request.identity
      if (identity === null) throw new HttpError(401, ERROR_CODES.unauthenticated)
      const state = randomToken()
      const nonce = randomToken()
      const codeVerifier = platform.usesPkce ? randomCodeVerifier() : undefined
      const authorizeUrl = platform.authorizationUrl({ state, codeChallenge: codeVerifier === undefined ? undefined : codeChallengeS256(codeVerifier) })
      await states.save({
        state,
        platform: platform.name,
        ownerUserId: identity.userId,
        bindingHash: bindingHash(nonce),
        returnTo: safeReturnTo(single(request.query.returnTo), app.config.appUrl),
        codeVerifier
      })
      reply.setCookie(flowCookieName(platform.name), nonce, { ...cookieOptions, signed: true, maxAge: STATE_LIFETIME_MS / 1000 })
      request.log.info({ connect: { platform: platform.name, step: 'start', pkce: codeVerifier !== undefined } }, 'connect flow started')
      return noStore(reply).redirect(authorizeUrl.toString(), 302)
    })
  })

  // Callback: authenticated by the state and the browser's cookie, not by a Cognito token.
  // No HEAD twins: a HEAD must neither create nor consume a one-time state.
  app.get('/api/auth/:platform/callback', { exposeHeadRoute: false, schema: { params: PlatformParams, querystring: CallbackQuery, response: { 404: ErrorResponse } } }, async (request, reply) => {
    const platform = platformOr404(app, request.params.platform)
    noStore(reply)
    const raw = request.cookies[flowCookieName(platform.name)]
    const ended = await completeConnect({ states, tokens: app.tokenStore }, {
      platform,
      state: single(request.query.state),
      cookie: raw === undefined ? undefined : request.unsignCookie(raw),
      identifyUser: async () => (await app.identify(request)).identity?.userId,
      providerError: single(request.query.error),
      code: single(request.query.code)
    })
    if (ended.stateSpent) reply.clearCookie(flowCookieName(platform.name), cookieOptions)
    request.log.info({ connect: { platform: platform.name, step: 'callback', outcome: ended.outcome, reason: ended.reason } }, 'connect flow ended')
    const params = ended.outcome === CONNECTED ? { connected: platform.name } : { error: ended.outcome, platform: platform.name }
    // returnTo is checked again on the way out: a stored state may predate a stricter rule.
    return reply.redirect(appRedirect(app.config.appUrl, safeReturnTo(ended.returnTo, app.config.appUrl), params), 302)
  })
}

export default authRoutes
