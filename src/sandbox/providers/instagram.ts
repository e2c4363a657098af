// Instagram (API with Instagram Login) on the Graph wire: the code exchange in either documented
// shape (flat or `{data:[…]}`, switchable), ig_exchange_token, ig_refresh_token, /me.
// @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
import { GraphProvider, type GraphWire } from './graph.js'
import type { ProviderOptions } from './oauth-provider.js'

export const INSTAGRAM_WIRE: GraphWire = {
  platform: 'instagram',
  prefix: 'IGQ',
  envPrefix: 'INSTAGRAM',
  clientIdVar: 'INSTAGRAM_CLIENT_ID',
  paths: { AUTHORIZE: '/oauth/authorize', TOKEN: '/oauth/access_token', EXCHANGE: '/access_token', REFRESH: '/refresh_access_token', USERINFO: '/me', API: '' },
  // @see https://developers.facebook.com/docs/instagram-platform/content-publishing
  publishPath: '/me/media',
  exchangeGrantType: 'ig_exchange_token',
  refreshGrantType: 'ig_refresh_token',
  user: { id: '17841400000000001', username: 'insta.fake' },
  // user_id is the professional account id; `id` is app-scoped.
  meFields: (user) => ({ user_id: user.id, username: user.username, id: `app-scoped-${user.id}` })
}

export class InstagramProvider extends GraphProvider {
  static readonly address = INSTAGRAM_WIRE
  /** Which of the two documented code-exchange answers to give. */
  codeShape: 'flat' | 'data' = 'flat'

  constructor (options: ProviderOptions = {}) {
    super(INSTAGRAM_WIRE, options)
  }

  protected override codeAnswer (entry: Record<string, unknown>): unknown {
    return this.codeShape === 'flat' ? entry : { data: [entry] }
  }
}
