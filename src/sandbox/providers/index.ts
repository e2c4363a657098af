// The simulated provider of any platform, built from its module (spec, wire, simulation data): the
// sandbox serves it, the test fakes put it on a node:http server. Chosen by the module's wire family,
// never by its name, so a new platform needs nothing here.
import type { PlatformModule } from '../../platforms/platform.js'
import { CodeGrantProvider } from './code-grant.js'
import { GraphProvider } from './graph.js'
import type { OAuthProvider, ProviderOptions } from './oauth-provider.js'

export function createProvider (module: PlatformModule, options: ProviderOptions = {}): OAuthProvider {
  const { spec, simulation } = module
  return simulation.family === 'graph' ? new GraphProvider(spec, simulation, options) : new CodeGrantProvider(spec, simulation, options)
}
