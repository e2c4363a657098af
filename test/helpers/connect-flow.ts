// A browser for the connect-flow tests: keeps the cookies the service sets (like a cookie jar), sends
// the user's Cognito identity (Bearer or Amplify cookies), and walks start → provider → callback.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

export interface BrowserIdentity {
  readonly bearer?: string
  /** A Cookie header value (Amplify SSR cookies). */
  readonly cookieHeader?: string
}

export class Browser {
  /** Cookies set by the service, raw values as set (the flow cookie is signed). */
  readonly jar = new Map<string, string>()
  identity: BrowserIdentity

  constructor (identity: BrowserIdentity = {}) {
    this.identity = identity
  }

  headers (): Record<string, string> {
    const headers: Record<string, string> = {}
    if (this.identity.bearer !== undefined) headers.authorization = `Bearer ${this.identity.bearer}`
    const cookies = [...this.jar].map(([name, value]) => `${name}=${value}`)
    if (this.identity.cookieHeader !== undefined) cookies.push(this.identity.cookieHeader)
    if (cookies.length > 0) headers.cookie = cookies.join('; ')
    return headers
  }

  absorb (res: LightMyRequestResponse): void {
    for (const cookie of res.cookies) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now())
      if (expired || cookie.value === '') this.jar.delete(cookie.name)
      else this.jar.set(cookie.name, cookie.value)
    }
  }

  async request (app: FastifyInstance, method: 'GET' | 'DELETE', url: string): Promise<LightMyRequestResponse> {
    const res = await app.inject({ method, url, headers: this.headers() })
    this.absorb(res)
    return res
  }

  async get (app: FastifyInstance, url: string): Promise<LightMyRequestResponse> {
    return await this.request(app, 'GET', url)
  }
}

export interface StartedFlow {
  readonly res: LightMyRequestResponse
  readonly authorizeUrl: URL
  readonly state: string
}

/** GET /api/auth/:platform; expects the 302 to the provider. */
export async function startFlow (app: FastifyInstance, browser: Browser, platform: string, returnTo?: string): Promise<StartedFlow> {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`
  const res = await browser.get(app, `/api/auth/${platform}${query}`)
  if (res.statusCode !== 302) throw new Error(`start answered ${res.statusCode}: ${res.body}`)
  const authorizeUrl = new URL(String(res.headers.location))
  return { res, authorizeUrl, state: authorizeUrl.searchParams.get('state') ?? '' }
}

/** The provider's redirect back, replayed against the service (path and query of the redirect URI). */
export async function callback (app: FastifyInstance, browser: Browser, redirectBack: URL): Promise<LightMyRequestResponse> {
  return await browser.get(app, `${redirectBack.pathname}${redirectBack.search}`)
}

/** A callback URL for `platform` with arbitrary query values. */
export function callbackUrl (platform: string, query: Readonly<Record<string, string>>): URL {
  const url = new URL(`https://app.example.test/api/auth/${platform}/callback`)
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
  return url
}
