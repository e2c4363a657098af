// What the /dev console calls through the provider API proxy: each platform's account endpoint, as a
// path under its API base (`<P>_API_URL`), taken from the account lookup URL the platform already uses.
import type { PlatformUrls } from '../platforms/platform.js'

/** The answer shown on the page is cut to this many characters. */
export const API_CALL_BODY_CHARS = 2_000

/** The account endpoint's path under the API base; `/` when the lookup lives on another host. */
export function accountPath (urls: Pick<PlatformUrls, 'api' | 'userinfo'>): string {
  const base = urls.api?.replace(/\/+$/, '')
  return base !== undefined && urls.userinfo.startsWith(`${base}/`) ? urls.userinfo.slice(base.length) : '/'
}
