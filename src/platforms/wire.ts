// A platform's wire data: its quirks in the provider's own names, as typed data. The platform's steps
// (define-platform.ts, graph-platform.ts) and its simulated provider (src/sandbox/providers) both
// read the same object, so a platform is described once.

/** How a provider wants its authorize URL, in the wire's own names. */
export interface AuthorizeWire {
  /** `client_id`, or TikTok's `client_key`. */
  readonly clientIdParam: string
  readonly scopeSeparator: string
  /** Provider-specific parameters (Reddit's `duration=permanent`). */
  readonly authorizeParams?: Readonly<Record<string, string>>
  /** Whether the provider's documentation takes PKCE (`code_challenge`, S256). */
  readonly pkce: boolean
}

/** The wire of a provider speaking standard OAuth 2.0 with refresh tokens. */
export interface CodeGrantWire extends AuthorizeWire {
  /**
   * How the client authenticates at the token and revocation endpoints: `basic` is HTTP Basic with the
   * raw `id:secret` (Reddit's, not RFC 6749's form-encoded one); `body` puts the client id (under
   * `clientIdParam`) and `client_secret` in the form body (TikTok's).
   */
  readonly clientAuth: 'basic' | 'body'
  /** A header announcing when a 429's window ends, in seconds, besides Retry-After (Reddit's). */
  readonly rateLimitResetHeader?: string
  /** The `fields` asked of the account lookup, if the provider takes them (TikTok's). */
  readonly userFields?: string
}

/** A Graph platform's wire names (Meta's: Instagram, Threads). */
export interface GraphWire extends AuthorizeWire {
  readonly exchangeGrantType: string
  readonly refreshGrantType: string
  /** The `fields` asked of the account lookup. */
  readonly userFields: string
}
