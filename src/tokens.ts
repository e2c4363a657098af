// The domain's token shapes, shared by the platforms (which produce them) and the store (which keeps
// them): neither imports the other, both import this.

/** The provider account a connection belongs to. */
export interface Account {
  readonly id: string
  readonly username?: string | undefined
}

/** The two secrets of a connection, as plaintext: only the store seals and opens them. */
export interface TokenSecrets {
  readonly accessToken: string
  readonly refreshToken?: string | undefined
}

/** Tokens as a provider answers them, lifetimes already turned into instants. */
export interface TokenGrant {
  readonly accessToken: string
  /** A rotated refresh token; undefined keeps the stored one (never overwritten with empty). */
  readonly refreshToken?: string | undefined
  readonly expiresAtMs: number
  readonly refreshExpiresAtMs?: number | undefined
  readonly scopes?: readonly string[] | undefined
}
