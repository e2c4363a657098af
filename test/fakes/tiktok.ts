// A fake TikTok: the provider its module describes (src/platforms/tiktok.ts, played by src/sandbox/providers) on a FakeServer.
import type { Test } from 'tap'
import { tiktokModule } from '../../src/platforms/tiktok.js'
import { codeGrantProviderOf, fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export class TiktokFake extends fakeOf(codeGrantProviderOf(tiktokModule)) {
  /** Starts a fake TikTok, closed at `t`'s teardown. It rotates refresh tokens by default, as TikTok does. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<TiktokFake> {
    return await new TiktokFake(options).listen(t)
  }
}
