// The rules across variables, run after the schema: production's refusals (Cognito, the development
// sign-in and sandbox, plain http), weak secrets (refused in production, warned about elsewhere),
// TRUST_PROXY, and the webhook's URL and secrets. Each adds to `problems` by variable name and never
// quotes a value.
import { isIP } from 'node:net'
import { pointsAtDevIdentity } from '../identity/dev-issuer.js'
import { isPlainHttpRemote, isWeakKey, secretWeakness } from '../secret-strength.js'
import { isWrappedKey, type KeyEntry } from '../store/crypto.js'
import { splitList } from './schema-types.js'

type Read = (name: string) => string | undefined

/** Production needs Cognito, and an issuer that is not the development sign-in (a copied dev env). */
export function checkProductionIdentity (str: Read, problems: Map<string, string>): void {
  if (str('COGNITO_CLIENT_ID') === undefined) problems.set('COGNITO_CLIENT_ID', 'required in production')
  if (str('COGNITO_USER_POOL_ID') === undefined && str('COGNITO_ISSUER') === undefined) {
    problems.set('COGNITO_USER_POOL_ID', 'required in production unless COGNITO_ISSUER is set')
  }
  for (const name of ['COGNITO_ISSUER', 'COGNITO_JWKS_URL']) {
    const value = str(name)
    if (value !== undefined && pointsAtDevIdentity(value)) problems.set(name, 'points at the development sign-in (/dev/identity), which production never serves')
  }
}

/** Production refuses the sandbox's variables and plain-http URLs to anything but loopback. */
export function checkProductionTransport (str: Read, setNames: readonly string[], urlVars: readonly string[], problems: Map<string, string>): void {
  // The sandbox's providers accept whatever client configuration names: never in production.
  if (setNames.includes('SANDBOX') && str('SANDBOX') !== 'off') problems.set('SANDBOX', 'refused in production (development sandbox); unset it or set off')
  for (const name of ['SANDBOX_TOKEN_LIFETIME_SEC', 'SANDBOX_BASE_URL']) {
    if (setNames.includes(name)) problems.set(name, 'refused in production (development sandbox only)')
  }
  // Loopback aside (local emulators, the fakes): tokens, codes and secrets never cross plain http.
  for (const name of urlVars) {
    const value = str(name)
    if (!problems.has(name) && value !== undefined && isPlainHttpRemote(value)) problems.set(name, 'must be https:// in production (http only for loopback)')
  }
}

/** The variables holding URLs the service sends secrets to (DYNAMODB_ENDPOINT aside: SigV4-signed). */
export function secretBearingUrlVars (names: readonly string[]): string[] {
  return names.filter((name) => (name.endsWith('_URL') || name.endsWith('_URI') || name === 'COGNITO_ISSUER') && name !== 'DYNAMODB_ENDPOINT')
}

/** Weak secrets: refused in production, a warning elsewhere. */
export function checkSecrets (
  secrets: { readonly cronSecrets: readonly string[], readonly internalApiKeys: readonly string[], readonly cookieSecret: string, readonly encryptionKeys: readonly KeyEntry[] },
  production: boolean, problems: Map<string, string>, warnings: string[]
): void {
  const weak = (name: string, why: string): void => {
    if (production) problems.set(name, why)
    else warnings.push(`${name} ${why}`)
  }
  for (const [name, values] of [['CRON_SECRET', secrets.cronSecrets], ['INTERNAL_API_KEY', secrets.internalApiKeys], ['COOKIE_SECRET', [secrets.cookieSecret]]] as const) {
    if (problems.has(name)) continue
    const why = values.map(secretWeakness).find((w) => w !== undefined)
    if (why !== undefined) weak(name, why)
  }
  if (secrets.encryptionKeys.some((k) => !isWrappedKey(k) && isWeakKey(k.key))) weak('TOKEN_ENCRYPTION_KEY', 'holds a key that is not random (too few distinct bytes)')
}

/** Plain keys in production work, but anyone who can read the environment can decrypt every stored token offline. */
export function checkPlainKeys (encryptionKeys: readonly KeyEntry[], production: boolean, warnings: string[]): void {
  const plainIds = encryptionKeys.filter((k) => !isWrappedKey(k)).map((k) => k.id)
  if (!production || plainIds.length === 0) return
  warnings.push(`TOKEN_ENCRYPTION_KEY holds plain key id ${plainIds.map((id) => `"${id}"`).join(', ')}: anyone who can read this environment can decrypt every stored token; wrap the keys with KMS (npm run ops -- keys new <id>, docs/runbook.md)`)
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** TRUST_PROXY: a hop count, or addresses/CIDRs; never `true` (which believes any client's header). */
export function parseTrustProxy (value: string | undefined, problems: Map<string, string>): false | number | string[] {
  if (value === undefined) return false
  if (/^\d{1,2}$/.test(value)) return Number(value)
  const entries = splitList(value)
  const valid = (entry: string): boolean => {
    if (PROXY_NAMES.has(entry)) return true
    const [address = '', bits, ...rest] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || rest.length > 0) return false
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
  }
  if (entries.length === 0 || !entries.every(valid)) {
    problems.set('TRUST_PROXY', 'must be a hop count or comma-separated IP addresses / CIDRs (loopback, linklocal, uniquelocal)')
    return false
  }
  return entries
}

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Standard Webhooks secrets (`whsec_` + base64 of 24 to 64 bytes) and an https URL outside development. */
export function checkWebhook (url: string | undefined, secrets: readonly string[], development: boolean, problems: Map<string, string>): void {
  if (url !== undefined && !problems.has('REAUTH_WEBHOOK_URL')) {
    const { protocol, hostname } = new URL(url)
    if (protocol !== 'https:' && !development && !LOOPBACK.has(hostname)) problems.set('REAUTH_WEBHOOK_URL', 'must be https outside development (loopback hosts excepted)')
  }
  for (const secret of secrets) {
    const bytes = Buffer.from(WHSEC.exec(secret)?.[1] ?? '', 'base64').length
    if (bytes < 24 || bytes > 64) problems.set('REAUTH_WEBHOOK_SECRET', 'each secret must be whsec_ followed by the base64 of 24 to 64 bytes')
  }
  if (url !== undefined && secrets.length === 0) problems.set('REAUTH_WEBHOOK_SECRET', 'required with REAUTH_WEBHOOK_URL')
}
