// A fake Instagram: the Graph wire for Instagram (src/sandbox/providers/instagram.ts) on a FakeServer.
import type { Test } from 'tap'
import { InstagramProvider } from '../../src/sandbox/providers/instagram.js'
import { fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export { graphError } from '../../src/sandbox/providers/graph.js'

export class InstagramFake extends fakeOf(InstagramProvider) {
  /** Starts a fake Instagram, closed at `t`'s teardown. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<InstagramFake> {
    return await new InstagramFake(options).listen(t)
  }
}
