import t from 'tap'
import { createCognitoVerifier, IdentityError } from '../../src/identity/cognito-verifier.js'
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
