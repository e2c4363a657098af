// The app in development as `npm start` would configure it with nothing set: the dev identity filled
// in by the real devIdentityEnv, listening on 127.0.0.1 (the identity check downloads the dev JWKS over
// HTTP from the service itself), APP_URL its own origin (the connect flow returns to /dev).
import cookie from '@fastify/cookie'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { AppOptions } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { devIdentityEnv } from '../../src/dev/identity-env.js'
import { sandboxEnv } from '../../src/sandbox/sandbox-env.js'
import { buildApp, createTestTable, testEnv, type Env } from '../helper.js'
import { freePort } from './server-process.js'

export interface DevApp {
  readonly app: FastifyInstance
  readonly baseUrl: string
  readonly env: Env
}

/** The port first: the configuration names the service's own URL before it listens. */
export async function reservePort (): Promise<{ port: number, baseUrl: string }> {
  const port = await freePort()
  return { port, baseUrl: `http://127.0.0.1:${port}` }
}

/** `options.sandbox`: every platform without credentials served by the sandbox, as `npm start` does. */
export async function startDevApp (t: Test, reserved: { port: number, baseUrl: string }, overrides: Env = {}, options: Pick<AppOptions, 'clock'> & { sandbox?: boolean } = {}): Promise<DevApp> {
  const table = await createTestTable(t, 'dev')
  const base = testEnv({ NODE_ENV: 'development', APP_URL: reserved.baseUrl, TOKENS_TABLE: table.name, ...(options.sandbox === true ? { SANDBOX_BASE_URL: reserved.baseUrl } : {}), ...overrides })
  const sandbox = options.sandbox === true ? sandboxEnv(base) : { env: base, sandboxed: [] }
  const { env } = devIdentityEnv(sandbox.env, reserved.baseUrl)
  const app = await buildApp(t, { config: loadConfig(env, { sandboxed: sandbox.sandboxed }), dynamo: table.dynamo, clock: options.clock })
  await app.listen({ port: reserved.port, host: '127.0.0.1' })
  return { app, baseUrl: reserved.baseUrl, env }
}

/** Headers of a form post the console's own page makes (a browser adds Sec-Fetch-Site and Origin). */
export function sameOriginForm (baseUrl: string, cookie?: string): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'sec-fetch-site': 'same-origin',
    origin: baseUrl,
    ...(cookie === undefined ? {} : { cookie })
  }
}

/** Signs `name` in through the console's form; answers the session cookie as a Cookie header value. */
export async function signIn (app: FastifyInstance, baseUrl: string, name = 'alice'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/dev/sign-in', headers: sameOriginForm(baseUrl), payload: `name=${encodeURIComponent(name)}` })
  const cookie = res.cookies.find((c) => c.name === 'dev_session')
  if (res.statusCode !== 303 || cookie === undefined) throw new Error(`sign-in answered ${res.statusCode}`)
  return `dev_session=${cookie.value}`
}

/** The dev JWT inside a session cookie header (the cookie is signed with the app's cookie secret). */
export function jwtOf (cookieSecret: string, cookieHeader: string): string {
  const unsigned = cookie.unsign(cookieHeader.slice('dev_session='.length), cookieSecret)
  if (!unsigned.valid || unsigned.value === null) throw new Error('session cookie does not carry our signature')
  return unsigned.value
}

export const location = (res: LightMyRequestResponse): string => String(res.headers.location)
