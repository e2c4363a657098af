// The connect flow: GET /api/auth/:platform (a signed-in user) starts it with a one-time state, PKCE
// where the provider takes it and a browser-binding cookie; GET /api/auth/:platform/callback (the
// provider's redirect, authenticated by that state) exchanges the code and stores the tokens.
// @see https://datatracker.ietf.org/doc/html/rfc9700 (OAuth 2.0 security BCP) and docs/connect-flow.md
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { flowStartRateLimit } from '../auth/flow-rate.js'
import { callbackErrorOf, CALLBACK_ERRORS, loggableCode, type CallbackError } from '../auth/callback-outcome.js'
import { bindingHash, codeChallengeS256, isRandomToken, randomCodeVerifier, randomToken } from '../auth/pkce.js'
import { appRedirect, DEFAULT_RETURN_TO, safeReturnTo } from '../auth/return-to.js'
import { ErrorResponse, ERROR_CODES, HttpError } from '../errors.js'
import { isPlatformName, type Platform } from '../platforms/platform.js'
import { createCipher } from '../store/crypto.js'
import { StoreUnavailableError } from '../store/errors.js'
import { createOAuthStateStore, STATE_LIFETIME_MS } from '../store/oauth-state.js'

export const FLOW_COOKIE_PATH = '/api/auth'
/** One cookie per platform: connecting TikTok in one tab does not break a Reddit flow in another. */
export const flowCookieName = (platform: string): string => `oauth_flow_${platform}`

const PlatformParams = Type.Object({ platform: Type.String({ maxLength: 40 }) })
// Loose on purpose: a duplicated or odd parameter must end in the contract's redirect, not a 400.
const Loose = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))
const StartQuery = Type.Object({ returnTo: Loose })
const CallbackQuery = Type.Object({ code: Loose, state: Loose, error: Loose })
const Errors = { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse }

export function platformOr404 (app: FastifyInstance, name: string): Platform {
  const platform = isPlatformName(name) ? app.platforms[name] : undefined
  if (platform === undefined) throw new HttpError(404, ERROR_CODES.notFound)
  return platform
}

const single = (value: string | string[] | undefined): string | undefined => typeof value === 'string' ? value : undefined

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const states = createOAuthStateStore({
    doc: app.dynamo.doc,
    table: app.config.tokensTable,
    cipher: createCipher(app.config.encryptionKeys),
    now: app.clock
  })
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
    // A per-user cap on starts (src/auth/flow-rate.ts); only the routes that ask for it are limited.
    await scope.register(rateLimit, { global: false })
    scope.withTypeProvider<TypeBoxTypeProvider>().get('/api/auth/:platform', { exposeHeadRoute: false, config: { rateLimit: flowStartRateLimit }, schema: { params: PlatformParams, querystring: StartQuery, response: Errors } }, async (request, reply) => {
      const platform = platformOr404(app, request.params.platform)
      if (!platform.config.configured) throw new HttpError(409, 'not_configured', `${platform.name} is not configured on this service`)
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
    const finish = (outcome: CallbackError | 'connected', reason: string, returnTo = DEFAULT_RETURN_TO): FastifyReply => {
      request.log.info({ connect: { platform: platform.name, step: 'callback', outcome, reason } }, 'connect flow ended')
      const params = outcome === 'connected' ? { connected: platform.name } : { error: outcome, platform: platform.name }
      return reply.redirect(appRedirect(app.config.appUrl, returnTo, params), 302)
    }
    const invalid = (reason: string): FastifyReply => finish(CALLBACK_ERRORS.invalidState, reason)

    const state = single(request.query.state)
    if (!isRandomToken(state)) return invalid(state === undefined ? 'missing_state' : 'malformed_state')
    const cookie = request.cookies[flowCookieName(platform.name)]
    if (cookie === undefined) return invalid('missing_cookie')
    const unsigned = request.unsignCookie(cookie)
    if (!unsigned.valid || !isRandomToken(unsigned.value)) return invalid('bad_cookie')

    // A signed-in user at the callback must be the one who started the flow; no identity is fine.
    const seen = await app.identify(request)
    let consumed
    try {
      consumed = await states.consume({ state, platform: platform.name }, { bindingHash: bindingHash(unsigned.value), ownerUserId: seen.identity?.userId })
    } catch (err) {
      if (err instanceof StoreUnavailableError) return finish(CALLBACK_ERRORS.storeUnavailable, 'consume_failed')
      throw err
    }
    if (!consumed.consumed) return invalid(consumed.reason)
    // The state is spent: its cookie has no further use.
    reply.clearCookie(flowCookieName(platform.name), cookieOptions)
    const { ownerUserId, codeVerifier } = consumed.state
    // Checked again on the way out: the item may predate a stricter rule.
    const returnTo = safeReturnTo(consumed.state.returnTo, app.config.appUrl)

    const providerError = single(request.query.error)
    if (providerError !== undefined) return finish(callbackErrorOf(providerError), `provider_${loggableCode(providerError)}`, returnTo)
    const code = single(request.query.code)
    if (code === undefined || code === '') return finish(CALLBACK_ERRORS.exchangeFailed, 'missing_code', returnTo)

    let grant
    try {
      grant = await platform.exchangeCode({ code, codeVerifier })
    } catch (err) {
      const known = err as { name?: unknown, code?: unknown, reason?: unknown }
      if (known.name === 'ProviderError' && typeof known.code === 'string') {
        const outcome = Object.values(CALLBACK_ERRORS).find((c) => c === known.code) ?? CALLBACK_ERRORS.exchangeFailed
        return finish(outcome, typeof known.reason === 'string' ? known.reason : 'provider_error', returnTo)
      }
      return finish(CALLBACK_ERRORS.exchangeFailed, err instanceof Error ? err.name : 'unknown', returnTo)
    }
    try {
      await app.tokenStore.saveConnection({
        userId: ownerUserId,
        platform: platform.name,
        account: grant.account,
        scopes: grant.scopes ?? platform.config.scopes,
        accessToken: grant.accessToken,
        refreshToken: grant.refreshToken,
        expiresAtMs: grant.expiresAtMs,
        refreshExpiresAtMs: grant.refreshExpiresAtMs
      })
    } catch (err) {
      if (err instanceof StoreUnavailableError) return finish(CALLBACK_ERRORS.storeUnavailable, 'save_failed', returnTo)
      throw err
    }
    return finish('connected', 'stored', returnTo)
  })
}

export default authRoutes
