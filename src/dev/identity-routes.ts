// GET /dev/identity/.well-known/jwks.json: the dev signer's public key, where COGNITO_JWKS_URL points in
// development. Registered by app.ts in development only: in production the path is a 404.
import type { FastifyPluginAsync } from 'fastify'
import { DEV_JWKS_PATH } from './identity-env.js'
import type { DevSigner } from './identity-signer.js'

export interface DevIdentityRoutesOptions { readonly signer: DevSigner }

const devIdentityRoutes: FastifyPluginAsync<DevIdentityRoutesOptions> = async (app, opts) => {
  app.get(DEV_JWKS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return opts.signer.jwks
  })
}

export default devIdentityRoutes
