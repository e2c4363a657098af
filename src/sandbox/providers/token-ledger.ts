// The providers' memory (the sandbox's and the test fakes'): authorization codes (one-time, with their
// PKCE challenge), access and refresh tokens, which are still valid, and how many times each refresh
// token was presented.
import { createHash, randomBytes } from 'node:crypto'

export interface FakeUser {
  readonly id: string
  readonly username: string
}

export interface CodeRecord {
  readonly user: FakeUser
  readonly redirectUri: string
  readonly scopes: readonly string[]
  readonly codeChallenge?: string | undefined
  readonly codeChallengeMethod?: string | undefined
  /** Reddit without duration=permanent: the code yields no refresh token. */
  readonly noRefreshToken?: boolean | undefined
}

export interface TokenRecord {
  readonly user: FakeUser
  readonly scopes: readonly string[]
  valid: boolean
  /** Instagram: a short-lived token can only be exchanged, not refreshed. */
  readonly kind: 'access' | 'refresh' | 'short_lived'
  /** Access tokens: the refresh token of their grant (revoking it revokes them). */
  readonly grantRefreshToken?: string | undefined
  /** When the provider stops accepting it (epoch ms); undefined: never (tokens seeded by tests). */
  readonly expiresAtMs?: number | undefined
}

export interface IssuedTokens {
  readonly accessToken: string
  readonly refreshToken?: string | undefined
  readonly user: FakeUser
}

/** RFC 7636 S256. */
export function s256 (verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}

export class TokenLedger {
  readonly #prefix: string
  readonly #codes = new Map<string, CodeRecord>()
  readonly #tokens = new Map<string, TokenRecord>()
  readonly #presented = new Map<string, number>()
  readonly #issued: string[] = []

  constructor (prefix: string) { this.#prefix = prefix }

  #random (kind: string): string {
    const value = `${this.#prefix}-${kind}-${randomBytes(12).toString('base64url')}`
    this.#issued.push(value)
    return value
  }

  issueCode (record: CodeRecord): string {
    const code = this.#random('code')
    this.#codes.set(code, record)
    return code
  }

  /** One-time: a second use (or an unknown code) gives undefined. */
  takeCode (code: string | undefined): CodeRecord | undefined {
    if (code === undefined) return undefined
    const record = this.#codes.get(code)
    this.#codes.delete(code)
    return record
  }

  issue (user: FakeUser, scopes: readonly string[], options: { refresh?: boolean, kind?: 'access' | 'short_lived', expiresInSec?: number } = {}): IssuedTokens {
    const refreshToken = options.refresh === false ? undefined : this.#random('rt')
    if (refreshToken !== undefined) this.#tokens.set(refreshToken, { user, scopes, valid: true, kind: 'refresh' })
    const accessToken = this.#random(options.kind === 'short_lived' ? 'sl' : 'at')
    const expiresAtMs = options.expiresInSec === undefined ? undefined : Date.now() + options.expiresInSec * 1000
    this.#tokens.set(accessToken, { user, scopes, valid: true, kind: options.kind ?? 'access', grantRefreshToken: refreshToken, expiresAtMs })
    return { accessToken, refreshToken, user }
  }

  /** Counts one presentation of a refresh credential (whatever the answer turns out to be). */
  countPresentation (token: string | undefined): void {
    if (token !== undefined && token !== '') this.#presented.set(token, (this.#presented.get(token) ?? 0) + 1)
  }

  /** A valid token of the given kinds, else undefined. */
  find (token: string | undefined, kinds: ReadonlyArray<TokenRecord['kind']> = ['access']): TokenRecord | undefined {
    const record = token === undefined ? undefined : this.#tokens.get(token)
    return record?.valid === true && kinds.includes(record.kind) ? record : undefined
  }

  /** A valid, unexpired access token, as a provider's API checks the bearer token of a call. */
  findLive (token: string | undefined, kinds: ReadonlyArray<TokenRecord['kind']> = ['access']): TokenRecord | undefined {
    const record = this.find(token, kinds)
    return record !== undefined && (record.expiresAtMs === undefined || record.expiresAtMs > Date.now()) ? record : undefined
  }

  invalidate (token: string): void {
    const record = this.#tokens.get(token)
    if (record !== undefined) record.valid = false
  }

  /** Revokes a token; for a refresh token (or an access token of a grant), the whole grant. */
  revokeGrant (token: string): boolean {
    const record = this.#tokens.get(token)
    if (record === undefined) return false
    const grant = record.kind === 'refresh' ? token : record.grantRefreshToken
    record.valid = false
    if (grant !== undefined) {
      this.invalidate(grant)
      for (const other of this.#tokens.values()) if (other.grantRefreshToken === grant) other.valid = false
    }
    return true
  }

  isValid (token: string): boolean { return this.#tokens.get(token)?.valid === true }

  timesPresented (refreshToken: string): number { return this.#presented.get(refreshToken) ?? 0 }

  /** Refresh tokens presented more than once (what rotation must never see). */
  presentedMoreThanOnce (): string[] {
    return [...this.#presented].filter(([, n]) => n > 1).map(([token]) => token)
  }

  /** Every token and code ever issued: canaries for "no token in any log line". */
  allSecrets (): string[] { return [...this.#issued] }
}
