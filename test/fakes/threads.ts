// A fake Threads on the Graph fake: code → short-lived token (`{access_token, user_id}`),
// th_exchange_token, th_refresh_token, /v1.0/me?fields=id,username, Graph error objects, no revocation.
// @see https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
import type { Test } from 'tap'
import { GraphFake } from './graph-fake.js'
import type { OAuthFakeOptions } from './oauth-fake.js'

export class ThreadsFake extends GraphFake {
  /** Starts a fake Threads, closed at `t`'s teardown. */
  static async start (t: Test, options: OAuthFakeOptions = {}): Promise<ThreadsFake> {
    return await new ThreadsFake(options).listen(t)
  }

  constructor (options: OAuthFakeOptions = {}) {
    super({
      platform: 'threads',
      prefix: 'THQ',
      envPrefix: 'THREADS',
      clientIdVar: 'THREADS_CLIENT_ID',
      paths: { AUTHORIZE: '/oauth/authorize', TOKEN: '/oauth/access_token', EXCHANGE: '/access_token', REFRESH: '/refresh_access_token', USERINFO: '/v1.0/me' },
      exchangeGrantType: 'th_exchange_token',
      refreshGrantType: 'th_refresh_token',
      user: { id: '25843500000000001', username: 'threads.fake' },
      meFields: (user) => ({ id: user.id, username: user.username })
    }, options)
  }

  /** Threads' code answer is flat and lists no permissions. */
  protected override codeAnswer (entry: Record<string, unknown>): unknown {
    const { permissions: _, ...flat } = entry
    return flat
  }
}
