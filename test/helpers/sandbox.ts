// The service with its sandbox on, listening on 127.0.0.1 (the service calls its own /sandbox URLs
// over real HTTP, as under `npm start`), configured the way the development start-up does it
// (sandboxEnv before loadConfig), and a browser that walks the consent page with fetch.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import type { PlatformModule } from '../../src/platforms/platform.js'
import { SandboxHub } from '../../src/sandbox/control.js'
import { sandboxEnv } from '../../src/sandbox/sandbox-env.js'
import { createCipher } from '../../src/store/crypto.js'
import { createTokenStore, type TokenStore } from '../../src/store/token-store.js'
import { startJwksIssuer, type JwksIssuer } from '../fakes/jwks-issuer.js'
import { buildApp, createTestTable, testEnv, type Env, type LogCapture } from '../helper.js'
import { Browser, callback, startFlow } from './connect-flow.js'
import { manualClock, type ManualClock } from './refresh.js'
import { freePort } from './server-process.js'

export const APP_URL = 'https://app.example.test'
export const CRON_HEADERS = { 'x-cron-secret': 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc' }

export interface SandboxedService {
  readonly app: FastifyInstance
  readonly config: Config
  readonly baseUrl: string
  readonly hub: SandboxHub
  readonly store: TokenStore
  readonly clock: ManualClock
  readonly issuer: JwksIssuer
}

/** The app on a free port with every platform sandboxed (unless `env` gives one credentials). */
export async function startSandboxedService (t: Test, options: { env?: Env, logs?: LogCapture, platformModules?: readonly PlatformModule[] } = {}): Promise<SandboxedService> {
  const modules = options.platformModules
  const specs = modules?.map((m) => m.spec)
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const table = await createTestTable(t, 'sandbox')
  const issuer = await startJwksIssuer()
  t.teardown(() => issuer.close())
  const clock = manualClock()
  const { env, sandboxed } = sandboxEnv(testEnv({ TOKENS_TABLE: table.name, APP_URL, SANDBOX_BASE_URL: baseUrl, PROVIDER_TIMEOUT_MS: '300', ...issuer.env, ...options.env }), { specs })
  const config = loadConfig(env, { sandboxed, platforms: specs })
  const hub = SandboxHub.fromConfig(config, modules)
  const app = await buildApp(t, { config, dynamo: table.dynamo, clock: clock.now, sandbox: hub, platformModules: modules, ...(options.logs === undefined ? {} : { logs: options.logs }) })
  await app.listen({ port, host: '127.0.0.1' })
  const store = createTokenStore({ doc: table.dynamo.doc, table: table.name, cipher: createCipher(config.encryptionKeys), now: clock.now })
  return { app, config, baseUrl, hub, store, clock, issuer }
}

export async function signedInBrowser (service: SandboxedService, userId: string): Promise<Browser> {
  return new Browser({ bearer: await service.issuer.accessToken({ sub: userId }) })
}

const ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }
const unescapeHtml = (value: string): string => value.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e)

/** The consent page's form: where it posts and its hidden fields, as a browser would read them. */
export function consentForm (html: string): { action: string, fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]*)">/.exec(html)?.[1]
  if (action === undefined) throw new Error('no consent form on the page')
  const fields: Record<string, string> = {}
  for (const [, name = '', value = ''] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescapeHtml(name)] = unescapeHtml(value)
  return { action: unescapeHtml(action), fields }
}

export interface ConsentWalk {
  readonly page: Response
  readonly html: string
  /** The sandbox's answer to the decision (a 302 back to the redirect URI). */
  readonly decided: Response
  readonly back: URL
  /** The service's answer to that redirect (its own 302 to the app). */
  readonly callback: LightMyRequestResponse
}

/** start → GET the consent page → POST the decision (same-origin, as the page's form does) → callback. */
export async function walkConsent (service: SandboxedService, browser: Browser, platform: string, decision: 'allow' | 'deny'): Promise<ConsentWalk> {
  const { authorizeUrl } = await startFlow(service.app, browser, platform)
  const page = await fetch(authorizeUrl)
  const html = await page.text()
  const form = consentForm(html)
  const decided = await fetch(new URL(form.action, authorizeUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: service.baseUrl, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ ...form.fields, decision })
  })
  await decided.arrayBuffer()
  const location = decided.headers.get('location')
  if (decided.status !== 302 || location === null) throw new Error(`the decision answered ${decided.status}`)
  const back = new URL(location)
  return { page, html, decided, back, callback: await callback(service.app, browser, back) }
}

/** One cron run, waited for; its body. */
export async function cronRun (service: SandboxedService): Promise<{ results: Array<{ platform: string, refreshed: number, failed: number, needsReauth: number }> }> {
  const res = await service.app.inject({ method: 'GET', url: '/api/cron/refresh-oauth?wait=true', headers: CRON_HEADERS })
  if (res.statusCode !== 200) throw new Error(`cron answered ${res.statusCode}`)
  return res.json()
}
