// The development sandbox (docs/sandbox.md): decorates the instance with its control (the fail
// switch) and serves each sandboxed platform's provider under /sandbox/<platform>. app.ts registers it
// only when config.sandbox.enabled, which is never in production (there `app.sandbox` is null).
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { PlatformModule } from '../platforms/platform.js'
import { SandboxHub, type SandboxControl } from './control.js'
import sandboxRoutes from './routes.js'

export type { SandboxControl, SandboxFailure } from './control.js'

declare module 'fastify' {
  interface FastifyInstance {
    sandbox: SandboxControl | null
  }
}

/** A held refresh outlasts the service's provider timeout by this much, then is let go. */
const HOLD_MARGIN_MS = 1_000

export interface SandboxPluginOptions {
  /** A hub made by the caller (tests, to reach the providers); otherwise one from the configuration. */
  readonly hub?: SandboxHub | undefined
  /** The platform modules served, the registry's unless given (AppOptions.platformModules). */
  readonly modules?: readonly PlatformModule[] | undefined
}

const sandboxPlugin: FastifyPluginAsync<SandboxPluginOptions> = async (app, opts) => {
  const { run, appUrl } = app.config
  const hub = opts.hub ?? SandboxHub.fromConfig(app.config, opts.modules)
  app.decorate('sandbox', hub)
  // preClose: before the server waits for open requests, let the held ones go.
  app.addHook('preClose', (done) => { hub.close(); done() })
  await app.register(sandboxRoutes, { hub, holdMs: run.providerTimeoutMs + HOLD_MARGIN_MS, appUrl })
}

export default fp(sandboxPlugin, { name: 'sandbox', dependencies: ['config'] })
