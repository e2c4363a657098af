// The sandbox's control surface as the console uses it: `app.sandbox` (src/sandbox/plugin.ts), null
// when the sandbox is off or the instance has none (a development app with real credentials).
import type { FastifyInstance } from 'fastify'
import type { SandboxControl } from '../sandbox/control.js'

export { SANDBOX_FAILURES, type SandboxControl, type SandboxFailure } from '../sandbox/control.js'

/** The instance's sandbox, or null when none is decorated (or it is off). */
export function sandboxOf (app: FastifyInstance): SandboxControl | null {
  return app.hasDecorator('sandbox') ? app.sandbox : null
}
