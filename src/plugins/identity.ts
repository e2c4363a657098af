// Decorates the instance with the Cognito identity check and the request with `identity`. The check is a
// hook that each scope needing a signed-in user registers itself (`scope.addHook('onRequest',
// scope.requireIdentity)`); nothing is checked where nobody asks for it.
import fp from 'fastify-plugin'
import type {} from '@fastify/cookie'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { HttpError, ERROR_CODES } from '../errors.js'
import { createCognitoVerifier, IdentityError, IDENTITY_FAILURES, type CognitoVerifier, type Identity, type IdentityFailure } from '../identity/cognito-verifier.js'
import { looksLikeJwt, tokenCandidates } from '../identity/token-sources.js'
import { cacheVerified } from '../identity/verified-cache.js'

/** Why a request has no identity, besides the verifier's own reasons. */
const NO_IDENTITY = { notConfigured: ERROR_CODES.notConfigured, missing: 'missing' } as const
export type NoIdentityReason = IdentityFailure | typeof NO_IDENTITY[keyof typeof NO_IDENTITY]

export type IdentityResult =
  | { readonly identity: Identity }
  | { readonly identity?: undefined, readonly reason: NoIdentityReason }

declare module 'fastify' {
  interface FastifyInstance {
    /** The verified user of `request`, or why there is none; never throws for a bad token. */
    identify (request: FastifyRequest): Promise<IdentityResult>
    /** onRequest hook: sets request.identity or answers 401 unauthenticated (503 when the JWKS is unreachable). */
    requireIdentity (request: FastifyRequest): Promise<void>
  }
  interface FastifyRequest {
    identity: Identity | null
  }
}

export interface IdentityPluginOptions {
  /** The fetch the JWKS download goes through (tests: the local issuer). */
  readonly fetch?: typeof fetch | undefined
}

const identityPlugin: FastifyPluginAsync<IdentityPluginOptions> = async (app, opts) => {
  const { cognito, run } = app.config
  let verifier: CognitoVerifier | undefined
  if (cognito.clientId !== undefined && (cognito.issuer !== undefined || cognito.userPoolId !== undefined)) {
    verifier = cacheVerified(createCognitoVerifier({
      clientId: cognito.clientId,
      userPoolId: cognito.userPoolId,
      issuer: cognito.issuer,
      jwksUrl: cognito.jwksUrl,
      fetch: opts.fetch,
      timeoutMs: Math.min(run.providerTimeoutMs, 5_000)
    }))
  } else {
    app.log.warn('Cognito is not configured (COGNITO_CLIENT_ID with COGNITO_USER_POOL_ID or COGNITO_ISSUER): every user route answers 401')
  }

  async function identify (request: FastifyRequest): Promise<IdentityResult> {
    if (verifier === undefined || cognito.clientId === undefined) return { reason: NO_IDENTITY.notConfigured }
    const candidates = tokenCandidates(request.headers.authorization, request.cookies ?? {}, cognito.clientId)
    if (candidates.length === 0) return { reason: NO_IDENTITY.missing }
    let reason: NoIdentityReason = IDENTITY_FAILURES.malformed
    for (const candidate of candidates) {
      if (!looksLikeJwt(candidate.jwt)) continue
      try {
        return { identity: await verifier.verify(candidate.jwt, candidate.expectedUse) }
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err
        reason = err.reason
        if (reason === IDENTITY_FAILURES.jwksUnavailable) break
      }
    }
    return { reason }
  }

  app.decorateRequest('identity', null)
  app.decorate('identify', identify)
  app.decorate('requireIdentity', async function requireIdentity (request: FastifyRequest): Promise<void> {
    const result = await identify(request)
    if (result.identity !== undefined) {
      request.identity = result.identity
      return
    }
    // The reason is a code of ours: never the token, never a claim value.
    request.log.info({ identity: { refused: result.reason } }, 'request without a valid identity')
    if (result.reason === IDENTITY_FAILURES.jwksUnavailable) throw new HttpError(503, ERROR_CODES.identityUnavailable)
    throw new HttpError(401, ERROR_CODES.unauthenticated)
  })
}

export default fp(identityPlugin, { name: 'identity', dependencies: ['config', '@fastify/cookie'] })
