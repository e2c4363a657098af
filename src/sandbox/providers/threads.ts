// Threads on the Graph wire: code → short-lived token (`{access_token, user_id}`), th_exchange_token,
// th_refresh_token, /v1.0/me?fields=id,username, Graph error objects, no revocation.
// @see https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
import { GraphProvider, type GraphWire } from './graph.js'
import type { ProviderOptions } from './oauth-provider.js'

export const THREADS_WIRE: GraphWire = {
  platform: 'threads',
  prefix: 'THQ',
  envPrefix: 'THREADS',
  clientIdVar: 'THREADS_CLIENT_ID',
  paths: { AUTHORIZE: '/oauth/authorize', TOKEN: '/oauth/access_token', EXCHANGE: '/access_token', REFRESH: '/refresh_access_token', USERINFO: '/v1.0/me', API: '' },
  // @see https://developers.facebook.com/docs/threads/posts
  publishPath: '/v1.0/me/threads',
  exchangeGrantType: 'th_exchange_token',
  refreshGrantType: 'th_refresh_token',
  user: { id: '25843500000000001', username: 'threads.fake' },
  meFields: (user) => ({ id: user.id, username: user.username })
}

export class ThreadsProvider extends GraphProvider {
  static readonly address = THREADS_WIRE

  constructor (options: ProviderOptions = {}) {
    super(THREADS_WIRE, options)
  }

  /** Threads' code answer is flat and lists no permissions. */
  protected override codeAnswer (entry: Record<string, unknown>): unknown {
    const { permissions: _, ...flat } = entry
    return flat
  }
}
