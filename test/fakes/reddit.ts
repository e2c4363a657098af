// A fake Reddit: Reddit's wire (src/sandbox/providers/reddit.ts) on a FakeServer.
import type { Test } from 'tap'
import { RedditProvider } from '../../src/sandbox/providers/reddit.js'
import { fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export class RedditFake extends fakeOf(RedditProvider) {
  /** Starts a fake Reddit, closed at `t`'s teardown. Reddit does not rotate by default. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<RedditFake> {
    return await new RedditFake(options).listen(t)
  }
}
