// Standard OAuth calls (code exchange, refresh, revocation) through openid-client v6, with explicit
// server metadata per call, providerRequest() as `customFetch`, and the platform's client auth.
// openid-client builds the requests; the provider's raw answer (captured) decides the outcome, because
// the contract keeps answers openid-client rejects (HTTP-200 error bodies, a non-positive expires_in
// beside a rotated refresh token) and needs Retry-After. @see https://github.com/panva/openid-client
import { Buffer } from 'node:buffer'
import * as oidc from 'openid-client'
import type { PlatformConfig } from './platform.js'
import { FAILURE_CODES, thrownFailure } from './oauth-errors.js'
import { capturingFetch, jsonObject, type ProviderAnswer, type ProviderHttp } from './provider-http.js'
import { interpretTokenAnswer, type TokenAnswer } from './token-response.js'
import type { CodeGrantWire } from './wire.js'

export interface OAuthClientOptions {
  readonly config: PlatformConfig
  readonly http: ProviderHttp
  /** How this provider wants the client authenticated (raw Basic for Reddit, body fields for TikTok). */
  readonly clientAuth: oidc.ClientAuth
  /** The provider's own header announcing a 429's end (Reddit's), besides Retry-After. */
  readonly rateLimitResetHeader?: string | undefined
}

type Endpoint = 'token_endpoint' | 'revocation_endpoint'

/** One Configuration per call: each call has its own capture, and Reddit's token and refresh URLs may differ. */
function configuration (options: OAuthClientOptions, endpoint: Endpoint, url: string, capture: { answer?: ProviderAnswer }): oidc.Configuration {
  const metadata: oidc.ServerMetadata = { issuer: new URL(url).origin, [endpoint]: url }
  const config = new oidc.Configuration(metadata, options.config.clientId, undefined, options.clientAuth)
  config[oidc.customFetch] = capturingFetch(options.http, capture)
  // Ours is the deadline that matters (providerRequest); openid-client's own must not be shorter.
  config.timeout = Math.ceil(options.http.timeoutMs / 1000) + 1
  // Only overridden URLs (fake providers, sandboxes) can be plain http; the real ones are https.
  if (new URL(url).protocol === 'http:') oidc.allowInsecureRequests(config)
  return config
}

async function call (options: OAuthClientOptions, endpoint: Endpoint, url: string, run: (config: oidc.Configuration) => Promise<unknown>): Promise<ProviderAnswer | TokenAnswer> {
  const capture: { answer?: ProviderAnswer } = {}
  try {
    await run(configuration(options, endpoint, url, capture))
  } catch (err) {
    // openid-client rejects some answers we still read; without an answer it was the transport.
    if (capture.answer === undefined) return thrownFailure(err)
  }
  return capture.answer ?? { kind: 'transient', code: FAILURE_CODES.malformed }
}

const isAnswer = (value: ProviderAnswer | TokenAnswer): value is ProviderAnswer => 'status' in value

/** POST to the token endpoint with `grant_type` and `parameters`; the answer read by interpretTokenAnswer. */
export async function tokenGrant (
  options: OAuthClientOptions, url: string, grantType: 'authorization_code' | 'refresh_token', parameters: Record<string, string>
): Promise<TokenAnswer> {
  // The instant before the request: the token is issued after it, so expiries computed from it are safe.
  const startedAtMs = options.http.now()
  const result = await call(options, 'token_endpoint', url, (config) => grantType === 'refresh_token'
    ? oidc.refreshTokenGrant(config, parameters.refresh_token ?? '', withoutKey(parameters, 'refresh_token'))
    : oidc.genericGrantRequest(config, grantType, parameters))
  return isAnswer(result) ? interpretTokenAnswer(result, startedAtMs, options.rateLimitResetHeader) : result
}

/** RFC 7009 revocation; true on 200/204 without an error body. */
export async function revokeToken (options: OAuthClientOptions, url: string, token: string, parameters: Record<string, string> = {}): Promise<boolean> {
  const result = await call(options, 'revocation_endpoint', url, (config) => oidc.tokenRevocation(config, token, parameters))
  if (!isAnswer(result) || result.status < 200 || result.status > 299) return false
  const body = jsonObject(result)
  return !(typeof body?.error === 'string' && body.error !== '' && body.error !== 'ok')
}

function withoutKey (parameters: Record<string, string>, key: string): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters).filter(([k]) => k !== key))
}

/**
 * The client authentication the wire names. `basic`: HTTP Basic with the raw `id:secret`, as Reddit's
 * docs show it; openid-client's ClientSecretBasic form-encodes both first (RFC 6749 §2.3.1), which
 * turns `my-id_x` into `my%2Did%5Fx`, and Reddit refuses that. `body`: the id under the wire's client id
 * parameter and `client_secret` as form fields, never Basic (TikTok's).
 */
export function wireClientAuth (wire: Pick<CodeGrantWire, 'clientAuth' | 'clientIdParam'>, clientId: string, clientSecret: string): oidc.ClientAuth {
  if (wire.clientAuth === 'body') {
    return (_as, _client, body) => {
      body.set(wire.clientIdParam, clientId)
      body.set('client_secret', clientSecret)
    }
  }
  const value = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`
  return (_as, _client, _body, headers) => { headers.set('authorization', value) }
}
