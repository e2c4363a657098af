// Instagram API with Instagram Login: code → short-lived token (two documented answer shapes) →
// long-lived token (ig_exchange_token), refreshed with the access token itself (ig_refresh_token).
// Plain providerRequest(), no openid-client: the code answer has no token_type (openid-client refuses
// it) and the refresh is a GET.
// These URLs carry tokens and the app secret in their query: never log them or put them in an error.
// @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
import { idString, lookupAccount, optionalString } from './account-lookup.js'
import { graphFailure } from './graph-errors.js'
import { FAILURE_CODES, ProviderError, thrownFailure, type Failure } from './oauth-errors.js'
import type { Platform, PlatformConfig, RefreshOutcome, TokenGrant } from './platform.js'
import { jsonObject, providerRequest, type ProviderAnswer, type ProviderHttp } from './provider-http.js'
import type { PlatformModule } from './registry.js'
import { instagramSpec } from './specs.js'
import { grantFromBody, splitScopes } from './token-response.js'
import { buildAuthorizationUrl } from './authorize-url.js'

/** Instagram's quirks, in its own wire names. */
export const INSTAGRAM_WIRE = {
  clientIdParam: 'client_id',
  scopeSeparator: ',',
  pkce: false,
  exchangeGrantType: 'ig_exchange_token',
  refreshGrantType: 'ig_refresh_token',
  userFields: 'user_id,username'
} as const

type Read = { readonly ok: true, readonly answer: ProviderAnswer } | { readonly ok: false, readonly failure: Failure }

async function request (http: ProviderHttp, url: URL, init: RequestInit = {}): Promise<Read> {
  try {
    return { ok: true, answer: await providerRequest(http, url, init) }
  } catch (err) {
    return { ok: false, failure: thrownFailure(err) }
  }
}

/** The code answer: flat `{access_token, user_id, permissions}` or `{data: [{…}]}`. */
function codeAnswerEntry (answer: ProviderAnswer): Record<string, unknown> | undefined {
  const body = jsonObject(answer)
  const data = body?.data
  const entry: unknown = Array.isArray(data) ? data[0] : body
  return typeof entry === 'object' && entry !== null ? entry as Record<string, unknown> : undefined
}

/** A GET answering `{access_token, token_type, expires_in}` (long-lived exchange and refresh). */
async function longLivedGrant (http: ProviderHttp, url: URL): Promise<{ grant: TokenGrant, warning?: string } | Failure> {
  const startedAtMs = http.now()
  const read = await request(http, url)
  if (!read.ok) return read.failure
  const failure = graphFailure(read.answer, startedAtMs)
  if (failure !== undefined) return failure
  const parsed = grantFromBody(jsonObject(read.answer) ?? {}, startedAtMs)
  // Instagram has no refresh token: the stored one (none) stays as it is.
  return parsed === undefined ? { kind: 'transient', code: FAILURE_CODES.malformed } : { ...parsed, grant: { ...parsed.grant, refreshToken: undefined } }
}

export function createInstagram (config: PlatformConfig, http: ProviderHttp): Platform {
  return {
    name: 'instagram',
    spec: instagramSpec,
    config,
    usesPkce: INSTAGRAM_WIRE.pkce,

    authorizationUrl: (input) => buildAuthorizationUrl(config, INSTAGRAM_WIRE, input),

    async exchangeCode ({ code }) {
      const form = new URLSearchParams({
        client_id: config.clientId,
        client_secret: config.clientSecret,
        grant_type: 'authorization_code',
        redirect_uri: config.redirectUri,
        code
      })
      const read = await request(http, new URL(config.urls.token), { method: 'POST', body: form })
      if (!read.ok) throw ProviderError.fromFailure(read.failure, 'code exchange')
      const failure = graphFailure(read.answer, http.now())
      if (failure !== undefined) throw ProviderError.fromFailure(failure, 'code exchange')
      const entry = codeAnswerEntry(read.answer)
      const shortLived = optionalString(entry?.access_token)
      if (entry === undefined || shortLived === undefined) throw new ProviderError('exchange_failed', FAILURE_CODES.malformed, 'code exchange')

      if (config.urls.exchange === undefined) throw new ProviderError('exchange_failed', 'no_exchange_url', 'long-lived exchange')
      const exchangeUrl = new URL(config.urls.exchange)
      exchangeUrl.searchParams.set('grant_type', INSTAGRAM_WIRE.exchangeGrantType)
      exchangeUrl.searchParams.set('client_secret', config.clientSecret)
      exchangeUrl.searchParams.set('access_token', shortLived)
      const longLived = await longLivedGrant(http, exchangeUrl)
      if ('kind' in longLived) throw ProviderError.fromFailure(longLived, 'long-lived exchange')

      const userinfo = new URL(config.urls.userinfo)
      userinfo.searchParams.set('fields', INSTAGRAM_WIRE.userFields)
      const account = await lookupAccount(http, userinfo.href, longLived.grant.accessToken, (body) => {
        // /me's user_id is the professional account id the Graph API acts on; fall back to the others.
        const id = idString(body.user_id) ?? idString(body.id) ?? idString(entry.user_id)
        return id === undefined ? undefined : { id, username: optionalString(body.username) }
      })
      return { ...longLived.grant, scopes: splitScopes(entry.permissions) ?? config.scopes, account }
    },

    async refresh ({ accessToken }): Promise<RefreshOutcome> {
      const url = new URL(config.urls.refresh)
      url.searchParams.set('grant_type', INSTAGRAM_WIRE.refreshGrantType)
      url.searchParams.set('access_token', accessToken)
      const result = await longLivedGrant(http, url)
      if ('kind' in result) return result
      return result.warning === undefined ? { kind: 'refreshed', grant: result.grant } : { kind: 'refreshed', grant: result.grant, warning: result.warning }
    },

    // Instagram API with Instagram Login has no revocation endpoint: the user removes the app.
    async revoke () { return false }
  }
}

export const instagramModule: PlatformModule = { spec: instagramSpec, create: createInstagram }
