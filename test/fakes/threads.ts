// A fake Threads: the provider its module describes (src/platforms/threads.ts, played by src/sandbox/providers) on a FakeServer.
import type { Test } from 'tap'
import { threadsModule } from '../../src/platforms/threads.js'
import { graphProviderOf, fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export class ThreadsFake extends fakeOf(graphProviderOf(threadsModule)) {
  /** Starts a fake Threads, closed at `t`'s teardown. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<ThreadsFake> {
    return await new ThreadsFake(options).listen(t)
  }
}
