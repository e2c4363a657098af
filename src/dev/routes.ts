// Everything development-only, in one registration (src/app.ts registers it when NODE_ENV is
// development, and never otherwise): the dev sign-in's JWKS and the /dev console. The signer exists
// only when COGNITO_ISSUER is this service's /dev/identity (devIdentityEnv filled it, or the developer
// did); with a real pool configured the console runs without a sign-in.
import type { FastifyPluginAsync } from 'fastify'
import devConsole from './console.js'
import { pointsAtDevIdentity } from '../identity/dev-issuer.js'
import devIdentityRoutes from './identity-routes.js'
import { createDevSigner } from './identity-signer.js'

const devRoutes: FastifyPluginAsync = async (app) => {
  const { issuer, clientId } = app.config.cognito
  if (issuer !== undefined && clientId !== undefined && pointsAtDevIdentity(issuer)) {
    const signer = createDevSigner({ issuer, clientId, now: app.clock })
    await app.register(devIdentityRoutes, { signer })
    await app.register(devConsole, { signer })
    app.log.info({ issuer }, 'development sign-in on: /dev signs test users in, its JWKS is served at /dev/identity/.well-known/jwks.json')
    return
  }
  await app.register(devConsole, { signInDisabled: 'COGNITO_ISSUER is not this service\'s /dev/identity (a real pool or an emulator is configured)' })
}

export default devRoutes
