// The verified-token cache: one verification per token, never a refusal remembered, never past exp.
import t from 'tap'
import { createCognitoVerifier, IdentityError, type CognitoVerifier } from '../../src/identity/cognito-verifier.js'
import { cacheVerified } from '../../src/identity/verified-cache.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'

const issuer = await startJwksIssuer()
t.teardown(() => issuer.close())
const real = createCognitoVerifier({ clientId: issuer.clientId, issuer: issuer.issuer, jwksUrl: issuer.jwksUrl })

/** The real verifier, counting its calls. */
function counting (): { verifier: CognitoVerifier, calls: () => number } {
  let calls = 0
  return { verifier: { verify: async (jwt, use) => { calls++; return await real.verify(jwt, use) } }, calls: () => calls }
}

async function reason (v: CognitoVerifier, jwt: string, use?: 'access' | 'id'): Promise<string> {
  try {
    await v.verify(jwt, use)
    return 'accepted'
  } catch (err) {
    if (err instanceof IdentityError) return err.reason
    throw err
  }
}

t.test('a token verified once is not verified again; the answer is the same', async (t) => {
  const inner = counting()
  const cached = cacheVerified(inner.verifier)
  const jwt = await issuer.accessToken({ sub: 'user-c' })
  const first = await cached.verify(jwt)
  t.same(await cached.verify(jwt), first)
  t.same(first, { userId: 'user-c', tokenUse: 'access' })
  t.equal(inner.calls(), 1)
  t.equal(await reason(cached, jwt, 'id'), 'bad_token_use', 'a cached access token is still no id token')
})

t.test('refusals are never remembered: a forged token is checked, and refused, every time', async (t) => {
  const inner = counting()
  const cached = cacheVerified(inner.verifier)
  const forged = await issuer.forgedWithOtherKey({ sub: 'user-c' })
  t.equal(await reason(cached, forged), 'bad_signature')
  t.equal(await reason(cached, forged), 'bad_signature')
  t.equal(inner.calls(), 2)
})

t.test('an entry ends at the token\'s exp or after maxAgeMs, whichever is first; the oldest leaves when full', async (t) => {
  let nowMs = Date.now()
  const inner = counting()
  const cached = cacheVerified(inner.verifier, { now: () => nowMs, maxAgeMs: 60_000, maxEntries: 2 })
  const shortLived = await issuer.accessToken({ sub: 'user-d', expiresInSec: 30 })
  await cached.verify(shortLived)
  nowMs += 31_000
  await cached.verify(shortLived)
  t.equal(inner.calls(), 2, 'past exp (on the cache\'s clock): verified again')
  const a = await issuer.accessToken({ sub: 'user-a' })
  const b = await issuer.accessToken({ sub: 'user-b' })
  const c = await issuer.accessToken({ sub: 'user-e' })
  await cached.verify(a)
  nowMs += 61_000
  await cached.verify(a)
  t.equal(inner.calls(), 4, 'past maxAgeMs: verified again')
  await cached.verify(b)
  await cached.verify(c)
  await cached.verify(a)
  t.equal(inner.calls(), 7, 'a fell out when c came in (two entries at most)')
})
