// Cross-site request forgery on cookie identity: the Amplify session cookies go with any request the
// browser makes to the service, including a DELETE that another site's page triggers. A call that
// changes state and carries only cookies must come from the app itself: `Sec-Fetch-Site: same-origin`,
// or an `Origin` equal to APP_URL's. Bearer callers choose their header themselves and are not
// concerned, nor are clients that send neither header (no browser sends neither on such a call).
// @see https://owasp.org/www-community/attacks/csrf and https://w3c.github.io/webappsec-fetch-metadata/
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface RequestOrigin {
  readonly method: string
  readonly authorization?: string | undefined
  readonly origin?: string | undefined
  readonly secFetchSite?: string | undefined
}

/** True when the request may go on; false for a state-changing, cookie-only call from elsewhere. */
export function allowedCrossSite (request: RequestOrigin, appUrl: string): boolean {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return true
  if (request.authorization !== undefined) return true
  if (request.secFetchSite === 'same-origin') return true
  if (request.origin !== undefined) return request.origin === new URL(appUrl).origin
  // No Origin: only a client that sends no fetch metadata either (not a browser) goes on.
  return request.secFetchSite === undefined
}
