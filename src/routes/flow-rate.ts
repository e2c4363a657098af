// How many connect flows one user may start: each start writes a state item, so an unbounded start
// route lets one account fill the table (the review made 300 in 6 s). Counted per Cognito `sub`, in
// this process (@fastify/rate-limit's memory store): with N instances a user gets at most N × the cap.
import type { FastifyRequest } from 'fastify'
import type { RateLimitOptions } from '@fastify/rate-limit'
import { ERROR_CODES, HttpError } from '../errors.js'

export const FLOW_STARTS_PER_MINUTE = 10

/** The start route's `config.rateLimit`: after the identity hook, keyed by the verified user. */
export const flowStartRateLimit: RateLimitOptions = {
  max: FLOW_STARTS_PER_MINUTE,
  timeWindow: 60_000,
  // preHandler: the scope's onRequest identity hook has set request.identity by then.
  hook: 'preHandler',
  keyGenerator: (request: FastifyRequest) => request.identity === null ? `ip:${request.ip}` : `user:${request.identity.userId}`,
  errorResponseBuilder: (_request, context) =>
    new HttpError(429, ERROR_CODES.rateLimited, `at most ${FLOW_STARTS_PER_MINUTE} connect flows a minute; retry in ${context.after}`)
}
