// Meta's two platforms (Instagram, Threads) speak one Graph wire: code → short-lived token (no
// token_type: openid-client refuses it), → long-lived token by a GET with `<x>_exchange_token`,
// refreshed with the access token itself (`<x>_refresh_token`), no refresh token, Graph error objects.
// Plain providerRequest(): these URLs carry tokens and the app secret in their query, so they are
// never logged or put in an error.
// @see https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
// @see https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
import type { Account } from '../tokens.js'
import { lookupAccount } from './account-lookup.js'
import { definePlatform } from './define-platform.js'
import { GRAPH_OUTAGE_CODES, GRAPH_TOKEN_REFUSAL, graphFailure } from './graph-errors.js'
import { FAILURE_CODES, PROVIDER_ERROR_CODES, ProviderError, thrownFailure, type Failure } from './oauth-errors.js'
import type { PlatformModule, PlatformSpec, RefreshOutcome, TokenGrant } from './platform.js'
import { jsonObject, providerRequest, type ProviderAnswer, type ProviderHttp } from './provider-http.js'
import type { GraphSimulation } from './simulation.js'
import { grantFromBody, splitScopes } from './token-response.js'
import type { GraphWire } from './wire.js'

export interface GraphDefinition<N extends string> {
  readonly spec: PlatformSpec<N>
  readonly wire: GraphWire
  /** What its simulated provider adds to the spec and the wire. */
  readonly simulation: Omit<GraphSimulation, 'family' | 'wire'>
  /** The account out of the lookup's body; `codeEntry` is the code answer (it may hold `user_id`). */
  pickAccount (body: Record<string, unknown>, codeEntry: Record<string, unknown>): Account | undefined
}

type Read = { readonly ok: true, readonly answer: ProviderAnswer } | { readonly ok: false, readonly failure: Failure }

async function request (http: ProviderHttp, url: URL, init: RequestInit = {}): Promise<Read> {
  try {
    return { ok: true, answer: await providerRequest(http, url, init) }
  } catch (err) {
    return { ok: false, failure: thrownFailure(err) }
  }
}

/** Graph outages (codes 1, 2, 4, 17, 341 among them) are provider_unavailable at the callback. */
const graphError = (failure: Failure, step: string): ProviderError => ProviderError.fromFailure(failure, step, GRAPH_OUTAGE_CODES)

/** The code answer: flat `{access_token, user_id, permissions}` or (Instagram) `{data: [{…}]}`. */
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
  // No refresh token on Graph: the token is its own grant.
  return parsed === undefined ? { kind: 'transient', code: FAILURE_CODES.malformed } : { ...parsed, grant: { ...parsed.grant, refreshToken: undefined } }
}

export function defineGraphPlatform<N extends string> (definition: GraphDefinition<N>): PlatformModule<N> {
  const { wire } = definition
  return definePlatform({
    spec: definition.spec,
    wire,
    apiTokenRefusal: GRAPH_TOKEN_REFUSAL,
    simulation: { ...definition.simulation, family: 'graph', wire },
    steps: (config, http) => ({
      async exchangeCode ({ code }) {
        const form = new URLSearchParams({
          client_id: config.clientId,
          client_secret: config.clientSecret,
          grant_type: 'authorization_code',
          redirect_uri: config.redirectUri,
          code
        })
        const read = await request(http, new URL(config.urls.token), { method: 'POST', body: form })
        if (!read.ok) throw graphError(read.failure, 'code exchange')
        const failure = graphFailure(read.answer, http.now())
        if (failure !== undefined) throw graphError(failure, 'code exchange')
        const entry = codeAnswerEntry(read.answer)
        const shortLived = typeof entry?.access_token === 'string' && entry.access_token !== '' ? entry.access_token : undefined
        if (entry === undefined || shortLived === undefined) throw new ProviderError(PROVIDER_ERROR_CODES.exchangeFailed, FAILURE_CODES.malformed, 'code exchange')

        if (config.urls.exchange === undefined) throw new ProviderError(PROVIDER_ERROR_CODES.exchangeFailed, FAILURE_CODES.noExchangeUrl, 'long-lived exchange')
        const exchangeUrl = new URL(config.urls.exchange)
        exchangeUrl.searchParams.set('grant_type', wire.exchangeGrantType)
        exchangeUrl.searchParams.set('client_secret', config.clientSecret)
        exchangeUrl.searchParams.set('access_token', shortLived)
        const longLived = await longLivedGrant(http, exchangeUrl)
        if ('kind' in longLived) throw graphError(longLived, 'long-lived exchange')

        const userinfo = new URL(config.urls.userinfo)
        userinfo.searchParams.set('fields', wire.userFields)
        const account = await lookupAccount(http, userinfo.href, longLived.grant.accessToken, (body) => definition.pickAccount(body, entry))
        return { ...longLived.grant, scopes: splitScopes(entry.permissions) ?? config.scopes, account }
      },

      async refresh ({ accessToken }): Promise<RefreshOutcome> {
        const url = new URL(config.urls.refresh)
        url.searchParams.set('grant_type', wire.refreshGrantType)
        url.searchParams.set('access_token', accessToken)
        const result = await longLivedGrant(http, url)
        if ('kind' in result) return result
        return result.warning === undefined ? { kind: 'refreshed', grant: result.grant } : { kind: 'refreshed', grant: result.grant, warning: result.warning }
      }
      // No revocation endpoint on either Graph login: the user removes the app.
    })
  })
}
