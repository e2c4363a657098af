// The part of oidc-provider (panva, 9.x, no bundled types) that test/platforms/oidc-provider.test.ts uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface EventContext { readonly oidc: { readonly params?: Readonly<Record<string, unknown>> } }
  export interface Account { readonly accountId: string, claims (): Promise<Record<string, unknown>> }

  export default class Provider {
    constructor (issuer: string, configuration: {
      readonly clients: ReadonlyArray<Record<string, unknown>>
      findAccount (ctx: unknown, sub: string): Promise<Account | undefined>
      readonly [setting: string]: unknown
    })
    on (event: 'grant.success', listener: (ctx: EventContext) => void): this
    on (event: 'grant.error', listener: (ctx: EventContext, err: Error) => void): this
    on (event: 'grant.revoked', listener: (ctx: EventContext, grantId: string) => void): this
    callback (): (req: IncomingMessage, res: ServerResponse) => void
  }
}
