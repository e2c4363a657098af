// A fake TikTok: TikTok's Login Kit v2 wire (src/sandbox/providers/tiktok.ts) on a FakeServer.
import type { Test } from 'tap'
import { TiktokProvider } from '../../src/sandbox/providers/tiktok.js'
import { fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export class TiktokFake extends fakeOf(TiktokProvider) {
  /** Starts a fake TikTok, closed at `t`'s teardown. It rotates refresh tokens by default, as TikTok does. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<TiktokFake> {
    return await new TiktokFake(options).listen(t)
  }
}
