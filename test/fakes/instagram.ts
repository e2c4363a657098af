// A fake Instagram: the provider its module describes (src/platforms/instagram.ts, played by src/sandbox/providers) on a FakeServer.
import type { Test } from 'tap'
import { instagramModule } from '../../src/platforms/instagram.js'
import { graphProviderOf, fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export { graphError } from '../../src/sandbox/providers/graph.js'

export class InstagramFake extends fakeOf(graphProviderOf(instagramModule)) {
  /** Starts a fake Instagram, closed at `t`'s teardown. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<InstagramFake> {
    return await new InstagramFake(options).listen(t)
  }
}
