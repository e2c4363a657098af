// The cron routes' secret guard, registered inside the cron scope only. Accepts `x-cron-secret: <s>`
// or `Authorization: Bearer <s>` for any of the configured secrets, compared in constant time.
// `x-vercel-cron` and the `vercel-cron/1.0` User-Agent are headers anyone can send: never a credential.
// @see https://vercel.com/docs/cron-jobs/manage-cron-jobs#securing-cron-jobs
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { createSecretMatcher } from '../auth/secret-matcher.js'
import { ERROR_CODES } from '../errors.js'

// Kept importable from here: the comparison itself lives in auth/secret-matcher.ts, shared with the internal guard.
export { createSecretMatcher }

export interface CronGuardOptions {
  /** The accepted secrets (CRON_SECRET split on commas); empty disables the cron routes. */
  readonly secrets: readonly string[]
}

/** The credentials a request presents; a header sent twice is malformed, never a credential. */
function presentedSecrets (request: FastifyRequest): string[] {
  const found: string[] = []
  const header = request.headers['x-cron-secret']
  if (typeof header === 'string' && header !== '') found.push(header)
  const authorization = request.headers.authorization
  if (typeof authorization === 'string') {
    const match = /^Bearer[ \t]+(\S(?:.*\S)?)[ \t]*$/i.exec(authorization)
    if (match?.[1] !== undefined) found.push(match[1])
  }
  return found
}

const cronGuard: FastifyPluginAsync<CronGuardOptions> = async (app, opts) => {
  const secrets = opts.secrets.filter((s) => s !== '')
  const matches = createSecretMatcher(secrets)
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (secrets.length === 0) {
      return reply.code(503).send({ ok: false, error: ERROR_CODES.cronDisabled })
    }
    // Every presented credential is checked (no short-circuit), then one answer for every failure.
    let ok = false
    for (const candidate of presentedSecrets(request)) ok = matches(candidate) || ok
    if (!ok) {
      request.log.info({ reason: 'no valid cron secret presented' }, 'cron call refused')
      return reply.code(401).send({ ok: false, error: ERROR_CODES.unauthorized })
    }
    return undefined
  })
}

/** fastify-plugin so the hook applies to the scope that registers it (the cron scope), and only there. */
export default fp(cronGuard, { name: 'cron-guard' })
