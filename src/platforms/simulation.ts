// What the development sandbox and the test fakes need, beyond a platform's spec and wire, to play its
// provider (src/sandbox/providers builds the provider from these): the answers that only a provider
// gives, as data and small functions in the provider's own format. Declared in the platform's module,
// next to its spec and wire, so that a platform is one module (the sandbox included).
import type { CodeGrantWire, GraphWire } from './wire.js'

export interface SimulatedUser {
  readonly id: string
  readonly username: string
}

/** A JSON answer: status and body. */
export interface SimulatedAnswer {
  readonly status: number
  readonly json: unknown
}

/**
 * The provider API's write, so the proxy runs end to end in the sandbox (its account endpoint is the
 * account lookup URL's path): where it is under `<P>_API_URL`, and its answer to a new post.
 */
export interface PublishSimulation {
  readonly path: string
  /** The answer's JSON for a post of new `id`, made from the request's urlencoded `form` (if any). */
  answer (id: string, form: Readonly<Record<string, string>>): unknown
}

interface SimulationBase {
  /** Prefix of the codes and tokens it issues (they read like the provider's). */
  readonly tokenPrefix: string
  /** Who signs in unless a test says otherwise (a function: some providers' ids are random). */
  user (): SimulatedUser
  readonly expiresInSec: number
  /** The API's write (none: the provider serves no API write). */
  readonly publish?: PublishSimulation | undefined
}

/** Meta's Graph wire (graph-platform.ts). */
export interface GraphSimulation extends SimulationBase {
  readonly family: 'graph'
  readonly wire: GraphWire
  /** Every field the account lookup can answer for `user` (the `fields` asked pick among them). */
  meFields (user: SimulatedUser): Readonly<Record<string, string>>
  /** Whether the code answer lists `permissions` (Instagram's does, Threads' does not). */
  readonly codeAnswerListsPermissions: boolean
}

/** Standard OAuth 2.0 with refresh tokens (define-platform.ts's code grant). */
export interface CodeGrantSimulation extends SimulationBase {
  readonly family: 'code_grant'
  readonly wire: CodeGrantWire
  /** Whether a refresh returns a new refresh token and invalidates the one presented. */
  readonly rotates: boolean
  readonly tokenType: string
  /** The token answer's `refresh_expires_in` (TikTok's), if the provider sends one. */
  readonly refreshExpiresInSec?: number | undefined
  /** A field of the token answer naming the user (TikTok's `open_id`). */
  readonly tokenAnswerUserField?: string | undefined
  /** The provider's error body for an OAuth error code. */
  errorBody (error: string): Record<string, unknown>
  /** The answer to a wrong client (id, secret or auth scheme). */
  invalidClient (): SimulatedAnswer
  /** The account lookup's answer for `user`, with the `fields` asked (if the wire asks any). */
  userinfo (user: SimulatedUser, fields: readonly string[]): unknown
  /** The account lookup's refusal of a token. */
  userinfoRefused (): SimulatedAnswer
  /** Revocation's success status (RFC 7009: 200; Reddit: 204). */
  readonly revokedStatus: number
  /** The error a revocation of an unknown token answers, where the provider does not follow RFC 7009 §2.2 (TikTok). */
  readonly unknownTokenRevokeError?: string | undefined
  /** Refuses calls with a missing or generic User-Agent, as Reddit throttles them (429). */
  readonly requiresDescriptiveUserAgent?: boolean | undefined
}

export type Simulation = GraphSimulation | CodeGrantSimulation
