// What the fake providers share, over the providers' wire (src/sandbox/providers): the server and its
// switches, request recording, fault queues, the tests' redirect URI, a browser-like walk through the
// authorize step, and env(). The wire itself (routes, ledger, answers) is the provider's, built from
// the platform's module as the sandbox builds it.
import type { Test } from 'tap'
import type { PlatformModule } from '../../src/platforms/platform.js'
import type { CodeGrantSimulation, GraphSimulation } from '../../src/platforms/simulation.js'
import { CodeGrantProvider } from '../../src/sandbox/providers/code-grant.js'
import { GraphProvider } from '../../src/sandbox/providers/graph.js'
import type { OAuthProvider, ProviderOptions } from '../../src/sandbox/providers/oauth-provider.js'
import { FakeServer, type Fault, type RecordedRequest } from './fake-server.js'

export type { Env } from '../../src/sandbox/providers/oauth-provider.js'
export { byGrantType, withExpiresInFault, type RouteEntry } from '../../src/sandbox/providers/wire.js'
export type OAuthFakeOptions = ProviderOptions

/** What a fake adds to its provider. */
export interface FakeServing {
  readonly server: FakeServer
  readonly url: string
  readonly requests: RecordedRequest[]
  latencyMs: number
  listen (t?: Test): Promise<this>
  close (): Promise<void>
  failNext (endpoint: string, fault: Fault, count?: number): void
  requestsTo (endpoint: string): RecordedRequest[]
  env (): Record<string, string | undefined>
  authorize (authorizeUrl: string | URL): Promise<URL>
}

export type OAuthFake = OAuthProvider & FakeServing

type ProviderClass = (new (...args: any[]) => OAuthProvider) & { readonly platform: string }

/** The provider class of a Graph platform's module (its options the only constructor argument). */
export function graphProviderOf (module: PlatformModule) {
  const simulation = module.simulation
  if (simulation.family !== 'graph') throw new Error(`${module.spec.name} is not on the Graph wire`)
  return class extends GraphProvider {
    static readonly platform = module.spec.name
    constructor (options: ProviderOptions = {}) { super(module.spec, simulation as GraphSimulation, options) }
  }
}

/** The provider class of a code-grant platform's module (its options the only constructor argument). */
export function codeGrantProviderOf (module: PlatformModule) {
  const simulation = module.simulation
  if (simulation.family !== 'code_grant') throw new Error(`${module.spec.name} is not a code-grant platform`)
  return class extends CodeGrantProvider {
    static readonly platform = module.spec.name
    constructor (options: ProviderOptions = {}) { super(module.spec, simulation as CodeGrantSimulation, options) }
  }
}

/** A provider class served by a FakeServer on 127.0.0.1; options as the provider's. */
export function fakeOf<C extends ProviderClass> (Base: C) {
  abstract class Fake extends Base implements FakeServing {
    #server: FakeServer | undefined

    constructor (...args: any[]) {
      const options = (args[0] ?? {}) as ProviderOptions
      // The tests' APP_URL (testEnv()): the redirect URI the service under test sends.
      super({ ...options, redirectUri: options.redirectUri ?? `https://app.example.test/api/auth/${Base.platform}/callback` })
    }

    /** Made on first use: the provider's route table is complete once its constructor has run. */
    get server (): FakeServer {
      if (this.#server === undefined) {
        this.#server = new FakeServer(this.routes)
        this.#server.onRequest = (request) => { this.notePresentation(request.endpoint, request) }
      }
      return this.#server
    }

    get url (): string { return this.server.url }
    get requests (): RecordedRequest[] { return this.server.requests }
    get latencyMs (): number { return this.server.latencyMs }
    set latencyMs (value: number) { this.server.latencyMs = value }

    /** Starts listening; with `t`, closes at teardown. */
    async listen (t?: Test): Promise<this> {
      await this.server.listen()
      t?.teardown(() => this.close())
      return this
    }

    async close (): Promise<void> { await this.server.close() }

    failNext (endpoint: string, fault: Fault, count = 1): void { this.server.failNext(endpoint, fault, count) }
    requestsTo (endpoint: string): RecordedRequest[] { return this.server.requestsTo(endpoint) }

    /** The env overrides pointing the service's `<P>_*` variables at this fake. */
    env (): Record<string, string | undefined> { return this.envAt(this.url) }

    /**
     * What a browser does with the service's authorize URL: GETs it from this fake and returns the
     * redirect it answers (to the redirect URI with `code` and `state`, or `error=access_denied`).
     */
    async authorize (authorizeUrl: string | URL): Promise<URL> {
      const response = await fetch(authorizeUrl, { redirect: 'manual' })
      await response.arrayBuffer()
      const location = response.headers.get('location')
      if (response.status !== 302 || location === null) throw new Error(`authorize step answered ${response.status}`)
      return new URL(location)
    }
  }
  return Fake
}
