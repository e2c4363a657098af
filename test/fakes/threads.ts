// A fake Threads: the Graph wire for Threads (src/sandbox/providers/threads.ts) on a FakeServer.
import type { Test } from 'tap'
import { ThreadsProvider } from '../../src/sandbox/providers/threads.js'
import { fakeOf, type OAuthFakeOptions } from './oauth-fake.js'

export class ThreadsFake extends fakeOf(ThreadsProvider) {
  /** Starts a fake Threads, closed at `t`'s teardown. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<ThreadsFake> {
    return await new ThreadsFake(options).listen(t)
  }
}
