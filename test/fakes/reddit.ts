// A fake Reddit: the provider its module describes (src/platforms/reddit.ts, played by src/sandbox/providers) on a FakeServer.
import type { Test } from 'tap'
import { redditModule } from '../../src/platforms/reddit.js'
import { codeGrantProviderOf, fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export class RedditFake extends fakeOf(codeGrantProviderOf(redditModule)) {
  /** Starts a fake Reddit, closed at `t`'s teardown. Reddit does not rotate by default. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<RedditFake> {
    return await new RedditFake(options).listen(t)
  }
}
