// The sandbox providers' control surface, as the console uses it. The sandbox (src/sandbox, another
// branch) decorates the instance with `sandbox: SandboxControl | null`; until it is there this
// structural copy of its interface is what the console codes against, read defensively.
import type { FastifyInstance } from 'fastify'
import type { PlatformName } from '../platforms/registry.js'

export type SandboxFailure = 'invalid_grant' | 'server_error' | 'timeout'
export const SANDBOX_FAILURES: readonly SandboxFailure[] = ['invalid_grant', 'server_error', 'timeout']

export interface SandboxControl {
  readonly platforms: readonly PlatformName[]
  failNextRefresh (platform: PlatformName, kind: SandboxFailure): void
  pendingFailure (platform: PlatformName): SandboxFailure | undefined
}

/** The instance's sandbox, or null when none is decorated (or it is off). */
export function sandboxOf (app: FastifyInstance): SandboxControl | null {
  if (!app.hasDecorator('sandbox')) return null
  const value = (app as unknown as { readonly sandbox?: SandboxControl | null }).sandbox
  return value ?? null
}
