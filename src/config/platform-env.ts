// A platform's variables, all named by platformVar() from its spec: the schema of each (with its
// documentation line), and the PlatformConfig read back out of a validated environment.
import { Type, type TSchema } from '@sinclair/typebox'
import { platformVar, URL_KEYS, URL_SETTINGS, urlVar } from '../platforms/env-names.js'
import type { PlatformConfig, PlatformSpec, PlatformUrls } from '../platforms/platform.js'
import { Enum, HttpUrl, Int, Str, splitList } from './schema-types.js'

const GRANT_WINDOW_DEFAULT_MS = 7 * 24 * 60 * 60_000
const KEEPALIVE_DEFAULT_MS = 7 * 24 * 60 * 60_000
const URL_MEANING: Record<keyof typeof URL_SETTINGS, string> = {
  authorize: 'authorization page the browser is sent to',
  token: 'code exchange endpoint',
  refresh: 'refresh endpoint',
  revoke: 'revocation endpoint (used on disconnect)',
  userinfo: 'account id / username endpoint',
  exchange: 'short-lived → long-lived token exchange endpoint',
  api: 'API base the provider API proxy calls as the user (/api/internal/proxy appends the path and query)'
}

export function platformSchema (spec: PlatformSpec): Record<string, TSchema> {
  const v = (setting: Parameters<typeof platformVar>[1]): string => platformVar(spec, setting)
  const { name } = spec
  const schema: Record<string, TSchema> = {
    [v('CLIENT_ID')]: Type.Optional(Str(`${name} OAuth client id; unset together with the secret = ${name} not_configured (whatever else of it is set)`)),
    [v('CLIENT_SECRET')]: Type.Optional(Str(`${name} OAuth client secret`)),
    [v('REDIRECT_URI')]: Type.Optional(HttpUrl(`${name} callback URL registered with the provider (…/api/auth/${name}/callback)`)),
    [v('SCOPES')]: Type.Optional(Str(`${name} scopes, comma- or space-separated (default ${spec.defaultScopes.join(',')})`)),
    [v('REFRESH_WINDOW_MS')]: Int(spec.defaultRefreshWindowMs, `${name} tokens expiring within this window are refreshed (raised to REFRESH_INTERVAL_MS + REFRESH_RUN_BUDGET_MS if shorter)`, 60_000),
    [v('REFRESH_CONCURRENCY')]: Type.Integer({ minimum: 1, maximum: 64, default: spec.defaultRefreshConcurrency, description: `${name} refreshes in flight at once` }),
    [v('REFRESH_MODE')]: Enum(['eager', 'on_demand'], 'eager', spec.accessTokenIsGrant === true
      ? `eager: the cron refreshes tokens inside the window; on_demand: the same for ${name} (its access token is the grant)`
      : 'eager: the cron refreshes tokens inside the window; on_demand: the cron only keeps grants alive, the internal route refreshes access tokens on use (docs/scale.md)'),
    [v('GRANT_WINDOW_MS')]: Int(GRANT_WINDOW_DEFAULT_MS, `on_demand: the cron refreshes a ${name} refresh token whose own expiry (refresh_expires_in) is this close`, 60_000),
    [v('KEEPALIVE_MS')]: Int(KEEPALIVE_DEFAULT_MS, `on_demand: the cron refreshes a ${name} grant not refreshed for this long, so a revocation is found early`, 60 * 60_000)
  }
  for (const key of URL_KEYS) {
    // Only the platforms with a long-lived exchange (Meta's) have its variable; every other URL exists for all.
    if (key === 'exchange' && spec.defaultUrls.exchange === undefined) continue
    const real = spec.defaultUrls[key]
    schema[urlVar(spec, key)] = Type.Optional(HttpUrl(`${name} ${URL_MEANING[key]}${real === undefined ? ' (none by default)' : ` (default ${real})`}`))
  }
  schema[v('REQUESTS_PER_MINUTE')] = spec.requestsPerMinute === undefined
    ? Type.Optional(Type.Integer({ minimum: 1, description: `${name} provider calls a minute at most, for the whole fleet (unset: no cap; ${name} publishes none)` }))
    : Int(spec.requestsPerMinute, `${name} provider calls a minute at most, for the whole fleet (the provider's published cap per client id)`, 1)
  schema[v('CRON_REQUESTS_PER_MINUTE')] = Type.Optional(Type.Integer({ minimum: 0, description: `the cron's share of ${v('REQUESTS_PER_MINUTE')}; the rest is kept for calls on use (default half the cap)` }))
  return schema
}

/** The validated environment, read by variable name. */
export interface EnvReader {
  str (name: string): string | undefined
  num (name: string): number
}

/** What reading one platform found wrong (problems) or worth saying (warnings). */
export interface Findings {
  readonly problems: Map<string, string>
  readonly warnings: string[]
  /** The variables the environment itself set (before defaults). */
  readonly setNames: readonly string[]
}

/**
 * The platform's settings. Neither client id nor secret: `not_configured`, whatever else of it is set
 * (a sandbox's URLs, a scope list left behind), the leftovers named in a warning. One of the two
 * without the other, or both without the redirect URI, is a mistake worth stopping for. A refresh
 * window shorter than `lapseMarginMs` (interval + run budget) is raised to it, with a warning.
 */
export function platformConfig (spec: PlatformSpec, env: EnvReader, lapseMarginMs: number, findings: Findings): PlatformConfig {
  const v = (setting: Parameters<typeof platformVar>[1]): string => platformVar(spec, setting)
  const clientId = env.str(v('CLIENT_ID'))
  const clientSecret = env.str(v('CLIENT_SECRET'))
  const redirectUri = env.str(v('REDIRECT_URI'))
  if (clientId === undefined && clientSecret === undefined) {
    const own = new Set(Object.keys(platformSchema(spec)))
    const leftovers = findings.setNames.filter((name) => own.has(name)).sort()
    if (leftovers.length > 0) findings.warnings.push(`${spec.name}: not_configured (no ${v('CLIENT_ID')} and no ${v('CLIENT_SECRET')}), so these are ignored: ${leftovers.join(', ')}`)
  } else {
    const credentials = [clientId, clientSecret, redirectUri]
    const missing = [v('CLIENT_ID'), v('CLIENT_SECRET'), v('REDIRECT_URI')].filter((_, i) => credentials[i] === undefined)
    for (const name of missing) findings.problems.set(name, `required once any ${spec.envPrefix} credential is set`)
  }
  const urls: Record<string, string | undefined> = { ...spec.defaultUrls }
  for (const key of URL_KEYS) {
    const override = env.str(urlVar(spec, key))
    if (override !== undefined) urls[key] = override
  }
  const scopes = env.str(v('SCOPES'))
  const configuredWindowMs = env.num(v('REFRESH_WINDOW_MS'))
  const refreshWindowMs = Math.max(configuredWindowMs, lapseMarginMs)
  if (refreshWindowMs > configuredWindowMs) {
    findings.warnings.push(`${spec.name}: refresh window ${configuredWindowMs} ms is shorter than REFRESH_INTERVAL_MS + REFRESH_RUN_BUDGET_MS (${lapseMarginMs} ms); tokens could lapse between two runs, so the window is raised to ${refreshWindowMs} ms`)
  }
  return {
    name: spec.name,
    configured: clientId !== undefined && clientSecret !== undefined && redirectUri !== undefined,
    clientId: clientId ?? '',
    clientSecret: clientSecret ?? '',
    redirectUri: redirectUri ?? '',
    scopes: scopes === undefined ? spec.defaultScopes : splitList(scopes.replaceAll(' ', ',')),
    urls: urls as unknown as PlatformUrls,
    refreshWindowMs,
    refreshConcurrency: env.num(v('REFRESH_CONCURRENCY')),
    // Unset optional numbers read as NaN.
    requestsPerMinute: Number.isFinite(env.num(v('REQUESTS_PER_MINUTE'))) ? env.num(v('REQUESTS_PER_MINUTE')) : undefined,
    cronRequestsPerMinute: Number.isFinite(env.num(v('CRON_REQUESTS_PER_MINUTE'))) ? env.num(v('CRON_REQUESTS_PER_MINUTE')) : undefined,
    refreshMode: env.str(v('REFRESH_MODE')) === 'on_demand' ? 'on_demand' : 'eager',
    grantWindowMs: env.num(v('GRANT_WINDOW_MS')),
    keepaliveMs: env.num(v('KEEPALIVE_MS'))
  }
}
