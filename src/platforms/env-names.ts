// The one rule naming a platform's environment variables: `<PREFIX>_<SETTING>`, except the client id,
// whose name the platform gives itself (TikTok calls it a client key: TIKTOK_CLIENT_KEY). The
// configuration schema, the sandbox's environment and the providers' `env()` all name variables here.
import type { PlatformSpec, PlatformUrls } from './platform.js'

/** Each provider URL's part of its variable name: `token` → `<PREFIX>_TOKEN_URL`. */
export const URL_SETTINGS = {
  authorize: 'AUTHORIZE',
  token: 'TOKEN',
  refresh: 'REFRESH',
  revoke: 'REVOKE',
  userinfo: 'USERINFO',
  exchange: 'EXCHANGE',
  api: 'API'
} as const satisfies Record<keyof PlatformUrls, string>

export type UrlKey = keyof typeof URL_SETTINGS
export const URL_KEYS = Object.keys(URL_SETTINGS) as UrlKey[]

export type PlatformSetting =
  | 'CLIENT_ID' | 'CLIENT_SECRET' | 'REDIRECT_URI' | 'SCOPES'
  | 'REFRESH_WINDOW_MS' | 'REFRESH_CONCURRENCY' | 'REFRESH_MODE' | 'GRANT_WINDOW_MS' | 'KEEPALIVE_MS'
  | 'REQUESTS_PER_MINUTE' | 'CRON_REQUESTS_PER_MINUTE'
  | `${typeof URL_SETTINGS[UrlKey]}_URL`

export type NamedSpec = Pick<PlatformSpec, 'envPrefix' | 'clientIdVar'>

/** The variable holding `setting` of the platform `spec` describes. */
export function platformVar (spec: NamedSpec, setting: PlatformSetting): string {
  return setting === 'CLIENT_ID' ? spec.clientIdVar : `${spec.envPrefix}_${setting}`
}

/** The variable overriding one of the platform's provider URLs. */
export function urlVar (spec: NamedSpec, key: UrlKey): string {
  return platformVar(spec, `${URL_SETTINGS[key]}_URL`)
}
