import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createCognitoVerifier, IdentityError, JWKS_BACKOFF, JWKS_MAX_BYTES } from '../../src/identity/cognito-verifier.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'

const issuer = await startJwksIssuer()
t.teardown(() => issuer.close())
const verifier = createCognitoVerifier({ clientId: issuer.clientId, issuer: issuer.issuer, jwksUrl: issuer.jwksUrl })

async function refusal (jwt: string, expectedUse?: 'access' | 'id', using = verifier): Promise<string> {
  try {
    await using.verify(jwt, expectedUse)
  } catch (err) {
    if (err instanceof IdentityError) return err.reason
    throw err
  }
  return 'accepted'
}

t.test('an access token gives its sub', async (t) => {
  t.same(await verifier.verify(await issuer.accessToken({ sub: 'user-a' })), { userId: 'user-a', tokenUse: 'access' })
})

t.test('an id token gives its sub (aud is the client id)', async (t) => {
  t.same(await verifier.verify(await issuer.idToken({ sub: 'user-b' })), { userId: 'user-b', tokenUse: 'id' })
})

t.test('the JWKS is downloaded once and cached', async (t) => {
  const before = issuer.jwksRequests()
  await verifier.verify(await issuer.accessToken())
  await verifier.verify(await issuer.idToken())
  t.equal(issuer.jwksRequests(), before)
})

t.test('refusals, each with its reason', async (t) => {
  t.equal(await refusal('not-a-jwt'), 'malformed')
  t.equal(await refusal('eyJhbGciOi.eyJzdWIi.c2ln'), 'malformed')
  // alg none: refused whether the signature part is empty or not.
  t.match(await refusal(issuer.unsigned()), /^(malformed|bad_algorithm)$/)
  t.match(await refusal(`${issuer.unsigned()}c2lnbmF0dXJl`), /^(malformed|bad_algorithm)$/)
  t.equal(await refusal(await issuer.forgedWithOtherKey()), 'bad_signature')
  t.equal(await refusal(await issuer.accessToken({ expiresInSec: -1 })), 'expired')
  t.equal(await refusal(await issuer.accessToken({ issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other' })), 'bad_issuer')
  t.equal(await refusal(await issuer.accessToken({ clientId: 'another-client' })), 'bad_client_id')
  t.equal(await refusal(await issuer.idToken({ clientId: 'another-client' })), 'bad_client_id')
  t.equal(await refusal(await issuer.accessToken({ claims: { token_use: 'refresh' } })), 'bad_token_use')
  t.equal(await refusal(await issuer.accessToken({ sub: 'oauth-state#x' })), 'bad_subject')
  t.equal(await refusal(await issuer.accessToken({ sub: 'cron' })), 'bad_subject')
})

t.test('an access token carrying aud instead of client_id is refused', async (t) => {
  const jwt = await issuer.accessToken({ claims: { client_id: undefined, aud: issuer.clientId } })
  t.equal(await refusal(jwt), 'bad_client_id')
})

t.test('an id token where an access token is required, and the reverse', async (t) => {
  t.equal(await refusal(await issuer.idToken(), 'access'), 'bad_token_use')
  t.equal(await refusal(await issuer.accessToken(), 'id'), 'bad_token_use')
})

t.test('a kid the pool does not publish is refused', async (t) => {
  t.equal(await refusal(await issuer.accessToken({ kid: 'unknown-kid' })), 'unknown_key')
})

t.test('an unreachable JWKS is jwks_unavailable, not a bad token', async (t) => {
  const offline = createCognitoVerifier({ clientId: issuer.clientId, issuer: issuer.issuer, jwksUrl: 'http://127.0.0.1:9/jwks.json', timeoutMs: 500 })
  t.equal(await refusal(await issuer.accessToken(), undefined, offline), 'jwks_unavailable')
})

t.test('a real pool id makes a Cognito verifier that refuses other issuers', async (t) => {
  const cognito = createCognitoVerifier({ clientId: issuer.clientId, userPoolId: 'us-east-1_AbCdEf123' })
  t.equal(await refusal(await issuer.accessToken(), undefined, cognito), 'bad_issuer')
})

t.test('neither pool nor issuer is a programming error', async (t) => {
  t.throws(() => createCognitoVerifier({ clientId: 'x' }))
})

t.test('a real pool: the Cognito issuer and JWKS URL, both issuer forms accepted', async (t) => {
  const poolId = 'eu-west-3_AbCdEf123'
  const seen: string[] = []
  // Cognito's real https JWKS URL, routed to the local issuer's server (the wire is still HTTP).
  const routed: typeof fetch = async (input, init) => {
    seen.push(String(input))
    return await fetch(issuer.jwksUrl, init)
  }
  const cognito = createCognitoVerifier({ clientId: issuer.clientId, userPoolId: poolId, fetch: routed })
  const regional = await issuer.accessToken({ issuer: `https://cognito-idp.eu-west-3.amazonaws.com/${poolId}`, sub: 'pool-user' })
  t.same(await cognito.verify(regional), { userId: 'pool-user', tokenUse: 'access' })
  t.equal(seen[0], `https://cognito-idp.eu-west-3.amazonaws.com/${poolId}/.well-known/jwks.json`)
  const global = await issuer.idToken({ issuer: `https://issuer-cognito-idp.eu-west-3.amazonaws.com/${poolId}`, sub: 'pool-user' })
  t.same(await cognito.verify(global), { userId: 'pool-user', tokenUse: 'id' })
  t.equal(await refusal(await issuer.accessToken({ issuer: `https://cognito-idp.eu-west-3.amazonaws.com/${poolId}`, clientId: 'other' }), undefined, cognito), 'bad_client_id')
})

// Regression (issue 14): the JWKS download followed redirects, read any size, and was tried again on
// every token while the host was down. A real HTTP server in front of the issuer plays each failure.
t.test('the JWKS download: no redirect followed, a size cap, and a backoff after failures', async (t) => {
  let mode: 'redirect' | 'huge' | 'down' | 'ok' = 'redirect'
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    if (mode === 'redirect') res.writeHead(302, { location: issuer.jwksUrl }).end()
    else if (mode === 'down') res.writeHead(500).end()
    else {
      fetch(issuer.jwksUrl).then(async (r) => await r.json() as { keys: unknown[] }).then((jwks) => {
        const body = JSON.stringify(mode === 'huge' ? { keys: jwks.keys, padding: 'x'.repeat(JWKS_MAX_BYTES) } : jwks)
        res.writeHead(200, { 'content-type': 'application/json' }).end(body)
      }, () => res.writeHead(500).end())
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
  let nowMs = 1_000_000
  const make = (): ReturnType<typeof createCognitoVerifier> => createCognitoVerifier({ clientId: issuer.clientId, issuer: issuer.issuer, jwksUrl, now: () => nowMs })
  const token = await issuer.accessToken()

  const beforeIssuer = issuer.jwksRequests()
  t.equal(await refusal(token, undefined, make()), 'jwks_unavailable', 'a redirect is a failure')
  t.equal(issuer.jwksRequests(), beforeIssuer, 'the redirect target was never asked')

  mode = 'huge'
  t.equal(await refusal(token, undefined, make()), 'jwks_unavailable', `a JWKS over ${JWKS_MAX_BYTES} bytes is a failure`)

  mode = 'down'
  requests = 0
  const verifier = make()
  for (let i = 0; i < 5; i++) t.equal(await refusal(await issuer.accessToken({ kid: `kid-${i}` }), undefined, verifier), 'jwks_unavailable')
  t.equal(requests, 1, 'five tokens while the host is down: one download attempt')
  nowMs += JWKS_BACKOFF.firstMs
  t.equal(await refusal(token, undefined, verifier), 'jwks_unavailable')
  t.equal(requests, 2, 'one more once the first wait is over')
  nowMs += JWKS_BACKOFF.firstMs
  t.equal(await refusal(token, undefined, verifier), 'jwks_unavailable')
  t.equal(requests, 2, 'the wait doubled')
  mode = 'ok'
  nowMs += JWKS_BACKOFF.maxMs
  t.same(await verifier.verify(token), { userId: 'user-a', tokenUse: 'access' }, 'the host back: verified again')
})
