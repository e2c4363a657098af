// The authorization request every platform sends the browser to, built once from each platform's wire
// data (its client id parameter, scope separator, extra parameters, PKCE) instead of once per module.
// @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 and https://www.rfc-editor.org/rfc/rfc7636#section-4.3
import type { PlatformConfig } from './platform.js'
import type { AuthorizeWire } from './wire.js'

export function buildAuthorizationUrl (
  config: PlatformConfig, wire: AuthorizeWire, input: { readonly state: string, readonly codeChallenge?: string | undefined }
): URL {
  const url = new URL(config.urls.authorize)
  url.searchParams.set(wire.clientIdParam, config.clientId)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('redirect_uri', config.redirectUri)
  url.searchParams.set('scope', config.scopes.join(wire.scopeSeparator))
  url.searchParams.set('state', input.state)
  for (const [name, value] of Object.entries(wire.authorizeParams ?? {})) url.searchParams.set(name, value)
  if (wire.pkce && input.codeChallenge !== undefined) {
    url.searchParams.set('code_challenge', input.codeChallenge)
    url.searchParams.set('code_challenge_method', 'S256')
  }
  return url
}
