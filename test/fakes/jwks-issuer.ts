// A local stand-in for a Cognito user pool: a real HTTP server on 127.0.0.1 serving the pool's JWKS, and
// token minting with Cognito's claims (RS256, `kid`, `iss`, `sub`, `token_use`, `client_id` | `aud`).
// Forgers make the tokens a verifier must refuse. @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'

export interface MintOptions {
  readonly sub?: string
  /** Seconds from now; negative for an expired token. */
  readonly expiresInSec?: number
  readonly issuer?: string
  readonly clientId?: string
  readonly kid?: string
  /** Sign with a key the pool does not publish (keeping `kid`). */
  readonly key?: CryptoKey
  readonly claims?: JWTPayload
}

export interface JwksIssuer {
  readonly issuer: string
  readonly jwksUrl: string
  readonly clientId: string
  readonly kid: string
  /** COGNITO_* variables pointing the service at this issuer. */
  readonly env: Record<string, string>
  /** How many times the JWKS was downloaded. */
  readonly jwksRequests: () => number
  accessToken (options?: MintOptions): Promise<string>
  idToken (options?: MintOptions): Promise<string>
  /** Signed by another key but carrying this pool's known `kid`. */
  forgedWithOtherKey (options?: MintOptions): Promise<string>
  /** `alg: none`, no signature, valid-looking claims. */
  unsigned (options?: MintOptions): string
  /** Amplify SSR cookies for `jwt` as a Cookie header value. */
  amplifyCookies (tokens: { readonly accessToken?: string, readonly idToken?: string }, user?: string): string
  close (): Promise<void>
}

const POOL_ID = 'local_testpool1'

export async function startJwksIssuer (clientId = 'test-client-id-0123'): Promise<JwksIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
  const other = await generateKeyPair('RS256', { extractable: true })
  const kid = 'test-kid-1'
  const jwk = { ...await exportJWK(publicKey), kid, alg: 'RS256', use: 'sig' }
  let requests = 0
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === `/${POOL_ID}/.well-known/jwks.json`) {
      requests++
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const issuer = `http://127.0.0.1:${port}/${POOL_ID}`
  const jwksUrl = `${issuer}/.well-known/jwks.json`

  function claims (tokenUse: 'access' | 'id', o: MintOptions): JWTPayload {
    const now = Math.floor(Date.now() / 1000)
    const base: JWTPayload = {
      sub: o.sub ?? 'user-a',
      iss: o.issuer ?? issuer,
      token_use: tokenUse,
      auth_time: now,
      iat: now,
      exp: now + (o.expiresInSec ?? 3600),
      jti: crypto.randomUUID()
    }
    if (tokenUse === 'access') Object.assign(base, { client_id: o.clientId ?? clientId, scope: 'aws.cognito.signin.user.admin', username: o.sub ?? 'user-a' })
    else Object.assign(base, { aud: o.clientId ?? clientId, 'cognito:username': o.sub ?? 'user-a', email: 'someone@example.test' })
    return { ...base, ...o.claims }
  }

  async function sign (tokenUse: 'access' | 'id', o: MintOptions = {}): Promise<string> {
    return await new SignJWT(claims(tokenUse, o))
      .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? kid })
      .sign(o.key ?? privateKey)
  }

  return {
    issuer,
    jwksUrl,
    clientId,
    kid,
    env: { COGNITO_ISSUER: issuer, COGNITO_JWKS_URL: jwksUrl, COGNITO_CLIENT_ID: clientId },
    jwksRequests: () => requests,
    accessToken: async (o) => await sign('access', o),
    idToken: async (o) => await sign('id', o),
    forgedWithOtherKey: async (o) => await sign('access', { ...o, key: other.privateKey }),
    unsigned (o = {}) {
      const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
      return `${part({ alg: 'none', kid: o.kid ?? kid })}.${part(claims('access', o))}.`
    },
    amplifyCookies (tokens, user = 'user-a') {
      const prefix = `CognitoIdentityServiceProvider.${clientId}`
      const parts = [`${prefix}.LastAuthUser=${encodeURIComponent(user)}`]
      if (tokens.accessToken !== undefined) parts.push(`${prefix}.${encodeURIComponent(user)}.accessToken=${tokens.accessToken}`)
      if (tokens.idToken !== undefined) parts.push(`${prefix}.${encodeURIComponent(user)}.idToken=${tokens.idToken}`)
      return parts.join('; ')
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
