// The /dev console (development only, registered by src/dev/routes.ts): a developer signs in as a test
// user, connects and disconnects platforms, runs the cron and watches tokens rotate, all through the
// service's own routes called with app.inject and the dev session's JWT, so every action passes the
// real identity check, the real connect flow and the real cron guard. Forms post and redirect (PRG);
// a cross-site post is refused (auth/cross-site.ts) and the session cookie is SameSite=Lax.
import { createHash } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { allowedCrossSite } from '../auth/cross-site.js'
import { ERROR_CODES, HttpError } from '../errors.js'
import { isPlatformName, PLATFORM_NAMES, type PlatformName } from '../platforms/registry.js'
import { CONNECTION_STATUS, type ConnectionStatus } from '../routes/platforms.js'
import { accountPath, API_CALL_BODY_CHARS } from './api-call.js'
import { renderConsole, consoleCsp, UNKNOWN_STATUS, type ApiCallView, type LastRunView, type PlatformRow } from './console-page.js'
import { DEV_TOKEN_LIFETIME_SEC, TEST_USER_NAME, type DevSigner } from './identity-signer.js'
import { SANDBOX_FAILURES, sandboxOf, type SandboxFailure } from './sandbox-control.js'

const CONSOLE_PATH = '/dev'
const SESSION_COOKIE = 'dev_session'

interface DevConsoleOptions {
  /** Undefined when Cognito points elsewhere: the console then has no sign-in. */
  readonly signer?: DevSigner | undefined
  readonly signInDisabled?: string | undefined
}

// What a redirect back to the page may say: fixed texts by code, the platform name escaped at render.
const DONE: Readonly<Record<string, string>> = {
  signed_in: 'Signed in.',
  signed_out: 'Signed out.',
  disconnected: 'Disconnected.',
  refresh: 'Refresh run finished.',
  refresh_running: 'Refresh run still going (answered at the cron budget); reload for its summary.',
  refresh_skipped: 'Refresh skipped: another run holds the lock.',
  fail_next: 'The next refresh of this platform will fail.',
  api_called: 'Called the API as this user through the proxy (below).',
  revoked: 'Revoked in the sandbox, as if the user had removed the app: the next API call finds out.'
}

/** First 8 hex of SHA-256: enough to see a token change, nothing to act with. */
export const fingerprint = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 8)

/** The `sub` of a JWT whose signature the identity check has just accepted (never used before that). */
function subOfVerified (jwt: string): string {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown }
  return String(payload.sub)
}

const single = (value: unknown): string | undefined => typeof value === 'string' ? value : undefined

function noticesOf (query: Readonly<Record<string, unknown>>): string[] {
  const notices: string[] = []
  const platform = single(query.platform) ?? single(query.connected)
  const done = single(query.done)
  if (single(query.connected) !== undefined) notices.push(`Connected ${String(query.connected)}.`)
  if (single(query.error) !== undefined) notices.push(`${platform === undefined ? '' : `${platform}: `}ended with ${String(query.error)}.`)
  if (done !== undefined && DONE[done] !== undefined) notices.push(`${platform === undefined ? '' : `${platform}: `}${DONE[done]}`)
  return notices
}

const devConsole: FastifyPluginAsync<DevConsoleOptions> = async (app, opts) => {
  const { config } = app
  const signer = opts.signer
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure: false, path: CONSOLE_PATH, signed: true }
  const cronSecret = config.cronSecrets[0]
  const internalKey = config.internalApiKeys[0]
  // The last proxied call of each signed-in test user, to show on the next page. Development only and
  // display only: on another instance the page simply shows none.
  const apiCalls = new Map<string, ApiCallView>()
  // The providers a connect form may end at (form-action governs the redirect after the POST).
  const formTargets = [...new Set(PLATFORM_NAMES.filter((n) => config.platforms[n].configured).map((n) => new URL(config.platforms[n].urls.authorize).origin))]

  // Form posts: urlencoded bodies, small, in this scope only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))))
  })
  // A state-changing post from another site's page is refused, whatever it carries: the console acts
  // by its cookie, so an Authorization header exempts nothing here.
  app.addHook('onRequest', async (request) => {
    const header = (name: string): string | undefined => typeof request.headers[name] === 'string' ? request.headers[name] : undefined
    if (!allowedCrossSite({ method: request.method, origin: header('origin'), secFetchSite: header('sec-fetch-site') }, config.appUrl)) {
      throw new HttpError(403, ERROR_CODES.crossSiteRequest)
    }
  })

  /** The session's JWT, if its cookie is there and carries our signature. */
  function sessionJwt (request: FastifyRequest): string | undefined {
    const raw = request.cookies[SESSION_COOKIE]
    if (raw === undefined) return undefined
    const unsigned = request.unsignCookie(raw)
    return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined
  }

  async function asUser (jwt: string, method: 'GET' | 'DELETE', url: string): Promise<LightMyRequestResponse> {
    return await app.inject({ method, url, headers: { authorization: `Bearer ${jwt}` } })
  }

  const back = (reply: FastifyReply, params: Readonly<Record<string, string>> = {}): FastifyReply => {
    const query = new URLSearchParams(params).toString()
    return reply.redirect(`${CONSOLE_PATH}${query === '' ? '' : `?${query}`}`, 303)
  }

  function platformParam (request: FastifyRequest): PlatformName {
    const name = (request.params as { platform?: string }).platform ?? ''
    if (!isPlatformName(name)) throw new HttpError(404, ERROR_CODES.notFound)
    return name
  }

  async function rowsFor (jwt: string | undefined, notices: string[]): Promise<{ rows: PlatformRow[], user?: { name: string, sub: string } | undefined, signedOut: boolean }> {
    const sandbox = sandboxOf(app)
    const base = (name: PlatformName): PlatformRow => ({
      platform: name,
      status: config.platforms[name].configured ? CONNECTION_STATUS.notConnected : CONNECTION_STATUS.notConfigured,
      sandboxed: sandbox?.platforms.includes(name) ?? false,
      pendingFailure: sandbox?.platforms.includes(name) === true ? sandbox.pendingFailure(name) : undefined
    })
    if (jwt === undefined) return { rows: PLATFORM_NAMES.map(base), signedOut: false }
    // The real route, the real identity check: a session whose JWT no longer verifies is signed out.
    const res = await asUser(jwt, 'GET', '/api/platforms/status')
    if (res.statusCode !== 200) {
      notices.push(res.statusCode === 401 ? 'Your dev session is no longer valid (expired, or the service restarted with a new key): sign in again.' : `Status answered ${res.statusCode}: ${String(res.json<{ error?: string }>().error)}`)
      return { rows: PLATFORM_NAMES.map(base), signedOut: res.statusCode === 401 }
    }
    const sub = subOfVerified(jwt)
    const records = new Map((await app.tokenStore.listByUser(sub)).map((r) => [r.platform, r]))
    const body = res.json<{ platforms: Record<string, { status: ConnectionStatus, account?: { id: string, username?: string }, expiresAt?: string }> }>()
    const rows = PLATFORM_NAMES.map((name) => {
      const status = body.platforms[name]
      const record = records.get(name)
      const row: PlatformRow = {
        ...base(name),
        status: status?.status ?? UNKNOWN_STATUS,
        account: status?.account === undefined ? undefined : status.account.username ?? status.account.id,
        expiresAt: status?.expiresAt,
        secondsLeft: status?.expiresAt === undefined ? undefined : Math.round((Date.parse(status.expiresAt) - app.clock()) / 1000),
        // Read and hashed here; the token itself never leaves this function.
        fingerprint: record === undefined ? undefined : fingerprint(app.tokenStore.openSecrets(record).accessToken)
      }
      return row
    })
    return { rows, user: { name: sub.replace(/^dev-/, ''), sub }, signedOut: false }
  }

  async function lastRun (): Promise<LastRunView | null | undefined> {
    if (cronSecret === undefined) return undefined
    const res = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth/last', headers: { 'x-cron-secret': cronSecret } })
    if (res.statusCode !== 200) return undefined
    return res.json<{ lastRun: LastRunView | null }>().lastRun
  }

  app.get(CONSOLE_PATH, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const notices = noticesOf(query)
    const { rows, user, signedOut } = await rowsFor(sessionJwt(request), notices)
    if (signedOut) reply.clearCookie(SESSION_COOKIE, cookieOptions)
    if (new URL(config.appUrl).host !== request.host) {
      notices.push(`APP_URL is ${config.appUrl}: the connect flow returns there, not to this console (${request.host}).`)
    }
    const page = renderConsole({
      user,
      signInDisabled: signer === undefined ? opts.signInDisabled : undefined,
      platforms: rows,
      lastRun: user === undefined ? undefined : await lastRun(),
      cronEnabled: cronSecret !== undefined,
      notices,
      watch: single(query.watch) === '1',
      apiCall: user === undefined ? undefined : apiCalls.get(user.sub)
    })
    return reply
      .header('content-security-policy', consoleCsp(formTargets))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(page)
  })

  app.post(`${CONSOLE_PATH}/sign-in`, async (request, reply) => {
    const name = single((request.body as Record<string, unknown> | undefined)?.name)?.trim() ?? ''
    if (signer === undefined) return back(reply, { error: 'sign_in_disabled' })
    if (!TEST_USER_NAME.test(name)) return back(reply, { error: 'bad_user_name' })
    reply.setCookie(SESSION_COOKIE, signer.accessToken(name), { ...cookieOptions, maxAge: DEV_TOKEN_LIFETIME_SEC })
    return back(reply, { done: 'signed_in' })
  })

  app.post(`${CONSOLE_PATH}/sign-out`, async (_request, reply) => {
    reply.clearCookie(SESSION_COOKIE, cookieOptions)
    return back(reply, { done: 'signed_out' })
  })

  /** The signed-in session's JWT; without one an action is a 401 (the page offers no action then). */
  const requireSession = (request: FastifyRequest): string => {
    const jwt = sessionJwt(request)
    if (jwt === undefined) throw new HttpError(401, ERROR_CODES.unauthenticated)
    return jwt
  }

  app.post(`${CONSOLE_PATH}/connect/:platform`, async (request, reply) => {
    const platform = platformParam(request)
    const res = await asUser(requireSession(request), 'GET', `/api/auth/${platform}?returnTo=${encodeURIComponent(CONSOLE_PATH)}`)
    if (res.statusCode !== 302) return back(reply, { error: String(res.json<{ error?: string }>().error ?? res.statusCode), platform })
    // The start's browser-binding cookie goes to the browser, which brings it to the callback.
    const setCookie = res.headers['set-cookie']
    if (setCookie !== undefined) reply.header('set-cookie', setCookie)
    return reply.header('cache-control', 'no-store').redirect(String(res.headers.location), 303)
  })

  app.post(`${CONSOLE_PATH}/disconnect/:platform`, async (request, reply) => {
    const platform = platformParam(request)
    const res = await asUser(requireSession(request), 'DELETE', `/api/platforms/${platform}`)
    if (res.statusCode !== 200) return back(reply, { error: String(res.json<{ error?: string }>().error ?? res.statusCode), platform })
    return back(reply, { done: 'disconnected', platform })
  })

  app.post(`${CONSOLE_PATH}/refresh`, async (request, reply) => {
    requireSession(request)
    if (cronSecret === undefined) return back(reply, { error: 'cron_disabled' })
    // The secret is sent from here to the service itself; the page never sees it.
    const res = await app.inject({ method: 'GET', url: '/api/cron/refresh-oauth', headers: { 'x-cron-secret': cronSecret } })
    if (res.statusCode !== 200) return back(reply, { error: String(res.json<{ error?: string }>().error ?? res.statusCode) })
    const body = res.json<{ skipped: boolean, done?: boolean }>()
    return back(reply, { done: body.skipped ? 'refresh_skipped' : body.done === false ? 'refresh_running' : 'refresh' })
  })

  /** The session's verified `sub` (the real identity check, through the status route), or a 401. */
  const verifiedSub = async (request: FastifyRequest): Promise<string> => {
    const jwt = requireSession(request)
    if ((await asUser(jwt, 'GET', '/api/platforms/status')).statusCode !== 200) throw new HttpError(401, ERROR_CODES.unauthenticated)
    return subOfVerified(jwt)
  }

  // The provider's account endpoint, called as the signed-in user through the provider API proxy with
  // the service's own internal key (the page never sees it, nor the token).
  app.post(`${CONSOLE_PATH}/call-api/:platform`, async (request, reply) => {
    const platform = platformParam(request)
    const sub = await verifiedSub(request)
    if (internalKey === undefined) return back(reply, { error: 'internal_api_disabled', platform })
    const path = accountPath(config.platforms[platform].urls)
    const res = await app.inject({ method: 'GET', url: `/api/internal/proxy/${encodeURIComponent(sub)}/${platform}${path}`, headers: { authorization: `Bearer ${internalKey}` } })
    apiCalls.set(sub, { platform, method: 'GET', path, status: res.statusCode, body: res.body.slice(0, API_CALL_BODY_CHARS) })
    return back(reply, { done: 'api_called', platform })
  })

  // The sandbox forgets the grant of the user's stored token, as a user removing the app does.
  app.post(`${CONSOLE_PATH}/revoke/:platform`, async (request, reply) => {
    const platform = platformParam(request)
    const sub = await verifiedSub(request)
    const sandbox = sandboxOf(app)
    if (sandbox === null || !sandbox.platforms.includes(platform)) return back(reply, { error: 'not_sandboxed', platform })
    const record = await app.tokenStore.get({ userId: sub, platform }, true)
    // Read and handed to the sandbox here; the token itself never leaves this function.
    const revoked = record !== undefined && sandbox.revokeAccess(platform, app.tokenStore.openSecrets(record).accessToken)
    return back(reply, revoked ? { done: 'revoked', platform } : { error: 'not_connected', platform })
  })

  app.post(`${CONSOLE_PATH}/fail-next/:platform`, async (request, reply) => {
    const platform = platformParam(request)
    const kind = single((request.body as Record<string, unknown> | undefined)?.kind)
    const sandbox = sandboxOf(app)
    if (sandbox === null || !sandbox.platforms.includes(platform)) return back(reply, { error: 'not_sandboxed', platform })
    if (kind === undefined || !(SANDBOX_FAILURES as readonly string[]).includes(kind)) return back(reply, { error: 'bad_failure_kind', platform })
    sandbox.failNextRefresh(platform, kind as SandboxFailure)
    return back(reply, { done: 'fail_next', platform })
  })
}

export default devConsole
