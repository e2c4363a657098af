// The development sign-in: its env (devIdentityEnv), its JWKS over HTTP, its tokens through the REAL
// identity plugin (aws-jwt-verify downloading the JWKS from the service), the tokens it must refuse,
// and production, which serves none of it and accepts none of its tokens.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, SignJWT } from 'jose'
import Fastify from 'fastify'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { DEV_CLIENT_ID, devBaseUrl, devIdentityEnv } from '../../src/dev/identity-env.js'
import { pointsAtDevIdentity } from '../../src/identity/dev-issuer.js'
import devIdentityRoutes from '../../src/dev/identity-routes.js'
import { createDevSigner } from '../../src/dev/identity-signer.js'
import { createCognitoVerifier } from '../../src/identity/cognito-verifier.js'
import { startJwksIssuer } from '../fakes/jwks-issuer.js'
import { buildApp, createTestTable, dynamoEndpoint, testEnv } from '../helper.js'
import { jwtOf, reservePort, signIn, startDevApp } from '../helpers/dev-app.js'
import { startServer, waitReady } from '../helpers/server-process.js'

t.test('devIdentityEnv fills the three Cognito variables in development only, and never over a set one', async (t) => {
  const base = 'http://127.0.0.1:3000'
  const { env, filled } = devIdentityEnv({ APP_URL: 'http://localhost:3000' }, base)
  t.same(filled, ['COGNITO_ISSUER', 'COGNITO_JWKS_URL', 'COGNITO_CLIENT_ID'])
  t.equal(env.COGNITO_ISSUER, 'http://127.0.0.1:3000/dev/identity')
  t.equal(env.COGNITO_JWKS_URL, 'http://127.0.0.1:3000/dev/identity/.well-known/jwks.json')
  t.equal(env.COGNITO_CLIENT_ID, DEV_CLIENT_ID)
  t.same(devIdentityEnv({ NODE_ENV: 'development' }, base).filled.length, 3, 'NODE_ENV=development too')
  for (const env of [{ NODE_ENV: 'production' }, { NODE_ENV: 'test' }, { COGNITO_USER_POOL_ID: 'eu-west-1_x1' }, { COGNITO_CLIENT_ID: 'c' }, { COGNITO_ISSUER: 'http://127.0.0.1:9/p' }]) {
    const out = devIdentityEnv(env, base)
    t.same(out.filled, [], `nothing filled with ${JSON.stringify(env)}`)
    t.equal(out.env, env, 'the same object back')
  }
  t.same(devIdentityEnv({}, undefined).filled, [], 'no known base URL (PORT=0): nothing filled')
  t.equal(devBaseUrl({}), 'http://127.0.0.1:3000')
  t.equal(devBaseUrl({ HOST: '0.0.0.0', PORT: '4100' }), 'http://127.0.0.1:4100')
  t.equal(devBaseUrl({ HOST: '::1', PORT: '4100' }), 'http://[::1]:4100')
  t.equal(devBaseUrl({ PORT: '0' }), undefined)
  t.ok(pointsAtDevIdentity('https://x.example/dev/identity/'))
  t.ok(pointsAtDevIdentity('https://x.example/dev/identity/.well-known/jwks.json'))
  t.notOk(pointsAtDevIdentity('https://x.example/dev/identityx'))
  t.notOk(pointsAtDevIdentity('not a url'))
})

t.test('the JWKS is served over HTTP and a dev token passes the real identity check on a status call', async (t) => {
  const { app, baseUrl, env } = await startDevApp(t, await reservePort())
  const jwksRes = await fetch(`${baseUrl}/dev/identity/.well-known/jwks.json`)
  t.equal(jwksRes.status, 200)
  const jwks = await jwksRes.json() as { keys: Array<Record<string, string>> }
  t.equal(jwks.keys.length, 1)
  t.match(jwks.keys[0], { kty: 'RSA', alg: 'RS256', use: 'sig', kid: /^dev-[0-9a-f]{16}$/ })
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(member in (jwks.keys[0] ?? {}), `no private member ${member}`)

  const jwt = jwtOf(String(env.COOKIE_SECRET), await signIn(app, baseUrl, 'alice'))
  const [header, payload] = jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>)
  t.match(header, { alg: 'RS256', kid: jwks.keys[0]?.kid })
  t.match(payload, { sub: 'dev-alice', token_use: 'access', client_id: DEV_CLIENT_ID, iss: `${baseUrl}/dev/identity`, username: 'alice' })
  t.equal(Number(payload?.exp) - Number(payload?.iat), 3600)

  const status = await app.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(status.statusCode, 200, 'accepted by the identity plugin')
  t.equal(status.json().platforms.reddit.status, 'not_configured')

  // Tampered claims, the key's kid with another key, another dev key, alg none: all 401.
  const other = createDevSigner({ issuer: `${baseUrl}/dev/identity`, clientId: DEV_CLIENT_ID })
  const { privateKey } = await generateKeyPair('RS256')
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: 'dev-alice', iss: `${baseUrl}/dev/identity`, token_use: 'access', client_id: DEV_CLIENT_ID, iat: now, exp: now + 600 }
  const sameKidOtherKey = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: String(jwks.keys[0]?.kid) }).sign(privateKey)
  const [h, , s] = jwt.split('.')
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'dev-mallory' })).toString('base64url')}.${s}`
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: jwks.keys[0]?.kid })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
  const wrongClient = await new SignJWT({ ...claims, client_id: 'someone-else' }).setProtectedHeader({ alg: 'RS256', kid: String(jwks.keys[0]?.kid) }).sign(privateKey)
  for (const [name, token] of Object.entries({ tampered, sameKidOtherKey, otherDevKey: other.accessToken('alice'), unsigned, wrongClient })) {
    const res = await app.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, `${name}: 401`)
    t.equal(res.json().error, 'unauthenticated')
  }
})

t.test('an expired dev token is refused', async (t) => {
  // The signer reads the app's clock: two hours back, the sign-in mints a token that expired an hour ago.
  const { app, baseUrl, env } = await startDevApp(t, await reservePort(), {}, { clock: () => Date.now() - 2 * 3600_000 })
  const jwt = jwtOf(String(env.COOKIE_SECRET), await signIn(app, baseUrl))
  const res = await app.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(res.statusCode, 401)
})

t.test('the JWKS really is fetched over HTTP: a service not listening cannot verify its own tokens', async (t) => {
  const { port, baseUrl } = await reservePort()
  const table = await createTestTable(t, 'dev')
  const { env } = devIdentityEnv(testEnv({ NODE_ENV: 'development', APP_URL: baseUrl, TOKENS_TABLE: table.name }), baseUrl)
  const app = await buildApp(t, { config: loadConfig(env), dynamo: table.dynamo })
  const jwt = jwtOf(String(env.COOKIE_SECRET), await signIn(app, baseUrl))
  const res = await app.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(res.statusCode, 503, `nothing on port ${port}: identity_unavailable`)
  t.equal(res.json().error, 'identity_unavailable')
})

t.test('ID and access tokens of the signer pass the Cognito verifier through its JWKS route', async (t) => {
  const server = Fastify()
  t.teardown(() => server.close())
  await server.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`
  // Registered after listen would be refused: a second instance serves this signer's routes.
  const routes = Fastify()
  t.teardown(() => routes.close())
  const signer = createDevSigner({ issuer: `${base}/dev/identity`, clientId: DEV_CLIENT_ID })
  await routes.register(devIdentityRoutes, { signer })
  await server.close()
  await routes.listen({ port: Number(new URL(base).port), host: '127.0.0.1' })
  const verifier = createCognitoVerifier({ clientId: DEV_CLIENT_ID, issuer: signer.issuer, jwksUrl: `${base}/dev/identity/.well-known/jwks.json` })
  t.same(await verifier.verify(signer.accessToken('bob'), 'access'), { userId: 'dev-bob', tokenUse: 'access' })
  t.same(await verifier.verify(signer.idToken('bob'), 'id'), { userId: 'dev-bob', tokenUse: 'id' })
  t.throws(() => signer.accessToken('Bob <b>'), /test user name/, 'names outside a-z0-9_- are refused')
})

t.test('production: the dev routes are 404, an issuer under /dev/identity is a ConfigError, a dev token is 401', async (t) => {
  for (const name of ['COGNITO_ISSUER', 'COGNITO_JWKS_URL']) {
    const env = testEnv({ NODE_ENV: 'production', COGNITO_CLIENT_ID: DEV_CLIENT_ID, COGNITO_ISSUER: 'https://auth.example.test/pool', [name]: name === 'COGNITO_ISSUER' ? 'http://127.0.0.1:3000/dev/identity' : 'https://api.example.test/dev/identity/.well-known/jwks.json' })
    const err = t.throws(() => loadConfig(env)) as ConfigError
    t.ok(err instanceof ConfigError, `${name}: ConfigError`)
    t.same(err.variables, [name])
    t.match(err.message, /development sign-in/)
  }

  const issuer = await startJwksIssuer()
  t.teardown(() => issuer.close())
  const table = await createTestTable(t, 'prod')
  const prod = await buildApp(t, { env: { NODE_ENV: 'production', TOKENS_TABLE: table.name, ...issuer.env }, dynamo: table.dynamo })
  for (const [method, url] of [['GET', '/dev'], ['GET', '/dev/identity/.well-known/jwks.json'], ['POST', '/dev/sign-in'], ['POST', '/dev/refresh']] as const) {
    const res = await prod.inject(method === 'POST' ? { method, url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=alice' } : { method, url })
    t.equal(res.statusCode, 404, `${method} ${url}: 404`)
  }
  t.equal((await prod.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${await issuer.accessToken()}` } })).statusCode, 200, 'the pool\'s own token works')

  // A dev app's token, and a dev signer claiming the production issuer and client: both refused.
  const { app: dev, baseUrl, env } = await startDevApp(t, await reservePort())
  const devToken = jwtOf(String(env.COOKIE_SECRET), await signIn(dev, baseUrl))
  const claiming = createDevSigner({ issuer: issuer.issuer, clientId: issuer.clientId }).accessToken('alice')
  for (const [name, token] of Object.entries({ devToken, claiming })) {
    t.equal((await prod.inject({ url: '/api/platforms/status', headers: { authorization: `Bearer ${token}` } })).statusCode, 401, `${name}: 401 in production`)
  }
  // The test environment does not serve the dev routes either.
  const testApp = await buildApp(t, { env: { TOKENS_TABLE: table.name }, dynamo: table.dynamo })
  t.equal((await testApp.inject({ url: '/dev' })).statusCode, 404, 'NODE_ENV=test: 404')
})

t.test('the real process with no Cognito set: prepareDevEnvironment fills the dev identity and /dev signs in', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oauth-refresher-dev-identity-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const table = await createTestTable(t, 'devproc')
  const server = await startServer(t, { LOCAL_DATA_DIR: dataDir, DYNAMODB_ENDPOINT: dynamoEndpoint(), TOKENS_TABLE: table.name, LOG_LEVEL: 'info' })
  await waitReady(server, 60_000)
  const base = `http://127.0.0.1:${server.port}`
  const signInRes = await fetch(`${base}/dev/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=carol' })
  t.equal(signInRes.status, 303)
  const cookieHeader = (signInRes.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  t.match(cookieHeader, /^dev_session=/)
  const pageRes = await fetch(`${base}/dev`, { headers: { cookie: cookieHeader } })
  t.match(await pageRes.text(), /Signed in as <strong>carol<\/strong>/, 'the console verified the session through the real check')
  const secrets = JSON.parse(readFileSync(join(dataDir, 'dev-secrets.json'), 'utf8')) as Record<string, string>
  const jwt = jwtOf(String(secrets.COOKIE_SECRET), cookieHeader)
  const status = await fetch(`${base}/api/platforms/status`, { headers: { authorization: `Bearer ${jwt}` } })
  t.equal(status.status, 200, 'a Bearer call with the dev token')
  const { stdout } = server.output()
  t.match(stdout, /development sign-in on: .*"issuer":"http:\/\/127\.0\.0\.1:\d+\/dev\/identity"/, 'the start-up says the sign-in is on, and its issuer')
  t.match(stdout, /"sandboxAndSignInVariables":\d+/, 'the variables filled for it are counted on the defaults line, not listed')
  t.notMatch(stdout, /Cognito is not configured/)
  t.notOk(stdout.includes(jwt), 'the token is not logged')
  t.notOk(Object.values(secrets).some((v) => stdout.includes(v)), 'no generated secret logged')
})
