// How a connection is laid out in the table, and the mapping between items and records.
// Token values exist in items only as ciphertext bound to (userId, platform, field).
import type { Account, TokenSecrets } from '../tokens.js'
import type { Cipher } from './crypto.js'

export type { Account, TokenSecrets } from '../tokens.js'

export const TOKEN_STATUS = {
  connected: 'connected',
  needsReauth: 'needs_reauth'
} as const
export type TokenStatus = typeof TOKEN_STATUS[keyof typeof TOKEN_STATUS]

export interface TokenKey {
  readonly userId: string
  readonly platform: string
}

/** A stored connection without its secrets: safe to log, to list, to decide on. */
export interface TokenRecord extends TokenKey {
  readonly status: TokenStatus
  readonly version: number
  readonly account: Account
  readonly scopes: readonly string[]
  /** Access token expiry; absent once the token needs re-authorisation (it left the index). */
  readonly expiresAtMs?: number | undefined
  /**
   * The byExpiry sort value (`expiresAt`): the access token's expiry (eager), or the next moment the
   * cron must keep the grant alive (on_demand, see refresh/due.ts nextGrantDeadlineMs).
   */
  readonly dueAtMs?: number | undefined
  readonly refreshExpiresAtMs?: number | undefined
  /** When the current access token was issued: with expiresAtMs it gives the token's lifetime. */
  readonly issuedAtMs: number
  readonly connectedAtMs: number
  readonly lastRefreshedAtMs?: number | undefined
  readonly hasRefreshToken: boolean
  readonly claimId?: string | undefined
  readonly claimUntilMs?: number | undefined
  readonly attempts: number
  readonly lastError?: string | undefined
  readonly nextAttemptAtMs?: number | undefined
  readonly ttlSec?: number | undefined
  readonly refreshFailingAtMs?: number | undefined
  /** Ciphertexts, opened only by TokenStore.openSecrets. */
  readonly sealed: { readonly accessToken: string, readonly refreshToken?: string | undefined }
}

/** Attribute names, in one place. Time attributes carry their unit, except the contract's expiresAt (ms). */
export const ATTR = {
  userId: 'userId',
  platform: 'platform',
  status: 'status',
  version: 'version',
  accountId: 'accountId',
  username: 'username',
  scopes: 'scopes',
  /**
   * The byExpiry sort key, named `expiresAt` in the table because the contract names it so. It holds
   * when the token is due: the access token's expiry (eager), or for on_demand the next grant-keeping
   * deadline, the due time (TokenRecord.dueAtMs). Never rename the stored attribute.
   */
  dueAt: 'expiresAt',
  /** Set only while `expiresAt` holds an on_demand deadline instead of the access token's expiry. */
  accessExpiresAtMs: 'accessExpiresAtMs',
  refreshExpiresAtMs: 'refreshExpiresAtMs',
  issuedAtMs: 'issuedAtMs',
  connectedAtMs: 'connectedAtMs',
  lastRefreshedAtMs: 'lastRefreshedAtMs',
  updatedAtMs: 'updatedAtMs',
  accessToken: 'accessTokenEnc',
  refreshToken: 'refreshTokenEnc',
  claimId: 'claimId',
  claimUntilMs: 'claimUntilMs',
  lastClaimId: 'lastClaimId',
  attempts: 'attempts',
  lastError: 'lastError',
  nextAttemptAtMs: 'nextAttemptAtMs',
  needsReauthAtMs: 'needsReauthAtMs',
  /** The last `?force=true` refresh of the internal route (its cooldown holds across instances). */
  lastForcedAtMs: 'lastForcedAtMs',
  /** Set when a connection.refresh_failing event was written: once per failing streak, cleared by a refresh. */
  refreshFailingAtMs: 'refreshFailingAtMs',
  ttl: 'ttl'
} as const

/** Associated data for a token field: a ciphertext opens only on the item and field that sealed it. */
export function sealContext (key: TokenKey, field: 'access_token' | 'refresh_token'): string {
  return `oauth-refresher/v1\u0000${key.userId}\u0000${key.platform}\u0000${field}`
}

/** Keys that name a user's connection; lock and state items share the table and are never tokens. */
export function isUserKey (userId: string): boolean {
  return userId !== '' && userId !== 'cron' && !userId.includes('#')
}

export function sealSecrets (cipher: Cipher, key: TokenKey, secrets: TokenSecrets): Record<string, string> {
  const sealed: Record<string, string> = { [ATTR.accessToken]: cipher.encrypt(secrets.accessToken, sealContext(key, 'access_token')) }
  if (secrets.refreshToken !== undefined && secrets.refreshToken !== '') {
    sealed[ATTR.refreshToken] = cipher.encrypt(secrets.refreshToken, sealContext(key, 'refresh_token'))
  }
  return sealed
}

export function openSecrets (cipher: Cipher, record: TokenRecord): TokenSecrets {
  const accessToken = cipher.decrypt(record.sealed.accessToken, sealContext(record, 'access_token'))
  if (record.sealed.refreshToken === undefined) return { accessToken }
  return { accessToken, refreshToken: cipher.decrypt(record.sealed.refreshToken, sealContext(record, 'refresh_token')) }
}

export function recordFromItem (item: Record<string, unknown>): TokenRecord {
  const str = (name: string): string | undefined => typeof item[name] === 'string' ? item[name] : undefined
  const num = (name: string): number | undefined => typeof item[name] === 'number' ? item[name] : undefined
  const scopes = item[ATTR.scopes]
  const username = str(ATTR.username)
  const refreshToken = str(ATTR.refreshToken)
  return {
    userId: String(item[ATTR.userId]),
    platform: String(item[ATTR.platform]),
    status: str(ATTR.status) === TOKEN_STATUS.needsReauth ? TOKEN_STATUS.needsReauth : TOKEN_STATUS.connected,
    version: num(ATTR.version) ?? 0,
    account: username === undefined ? { id: str(ATTR.accountId) ?? '' } : { id: str(ATTR.accountId) ?? '', username },
    scopes: Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [],
    expiresAtMs: num(ATTR.accessExpiresAtMs) ?? num(ATTR.dueAt),
    dueAtMs: num(ATTR.dueAt),
    refreshExpiresAtMs: num(ATTR.refreshExpiresAtMs),
    issuedAtMs: num(ATTR.issuedAtMs) ?? 0,
    connectedAtMs: num(ATTR.connectedAtMs) ?? 0,
    lastRefreshedAtMs: num(ATTR.lastRefreshedAtMs),
    hasRefreshToken: refreshToken !== undefined,
    claimId: str(ATTR.claimId),
    claimUntilMs: num(ATTR.claimUntilMs),
    attempts: num(ATTR.attempts) ?? 0,
    lastError: str(ATTR.lastError),
    nextAttemptAtMs: num(ATTR.nextAttemptAtMs),
    ttlSec: num(ATTR.ttl),
    refreshFailingAtMs: num(ATTR.refreshFailingAtMs),
    sealed: { accessToken: str(ATTR.accessToken) ?? '', refreshToken }
  }
}
