// The connect callback's steps, without Fastify: check the state and the browser binding, consume the
// one-time state, read the provider's answer, exchange the code, store the tokens. The route maps the
// outcome to its redirect and clears the flow cookie once the state is spent.
// @see https://datatracker.ietf.org/doc/html/rfc9700 (OAuth 2.0 security BCP) and docs/connect-flow.md
import type { Platform } from '../platforms/platform.js'
import { ProviderError, type FailureCode } from '../platforms/oauth-errors.js'
import { StoreUnavailableError } from '../store/errors.js'
import type { ConsumeFailure, OAuthStateStore } from '../store/oauth-state.js'
import type { TokenStore } from '../store/token-store.js'
import { callbackErrorOf, CALLBACK_ERRORS, loggableCode, type CallbackError } from './callback-outcome.js'
import { bindingHash, isRandomToken } from './random-token.js'
import { DEFAULT_RETURN_TO } from './return-to.js'

export const CONNECTED = 'connected'

/** Why the callback ended as it did, for its log line (never a value from the request). */
const CALLBACK_REASONS = {
  missingState: 'missing_state',
  malformedState: 'malformed_state',
  missingCookie: 'missing_cookie',
  badCookie: 'bad_cookie',
  consumeFailed: 'consume_failed',
  missingCode: 'missing_code',
  saveFailed: 'save_failed',
  stored: 'stored'
} as const
export type CallbackReason =
  | typeof CALLBACK_REASONS[keyof typeof CALLBACK_REASONS]
  | ConsumeFailure
  /** `provider_<error>`: the provider's own error on the redirect back, bounded by loggableCode(). */
  | `provider_${string}`
  /** A ProviderError's failure code (ours: `network`, `graph_190`…). */
  | FailureCode
  /** An unexpected error, by its name only (its message could quote a provider's answer). */
  | `unexpected_${string}`

export interface CallbackInput {
  readonly platform: Platform
  readonly state: string | undefined
  /** The flow cookie: undefined when absent; `valid` is its signature check. */
  readonly cookie: { readonly valid: boolean, readonly value: string | null } | undefined
  /** The signed-in user at the callback, if any: it must be the one who started the flow. */
  readonly identifyUser: () => Promise<string | undefined>
  readonly providerError: string | undefined
  readonly code: string | undefined
}

export interface CallbackOutcome {
  readonly outcome: CallbackError | typeof CONNECTED
  readonly reason: CallbackReason
  readonly returnTo: string
  /** The one-time state was consumed: the browser's flow cookie has no further use. */
  readonly stateSpent: boolean
}

export interface ConnectFlowDeps {
  readonly states: OAuthStateStore
  readonly tokens: Pick<TokenStore, 'saveConnection'>
}

export async function completeConnect (deps: ConnectFlowDeps, input: CallbackInput): Promise<CallbackOutcome> {
  const { platform } = input
  const invalid = (reason: CallbackReason): CallbackOutcome =>
    ({ outcome: CALLBACK_ERRORS.invalidState, reason, returnTo: DEFAULT_RETURN_TO, stateSpent: false })

  if (!isRandomToken(input.state)) return invalid(input.state === undefined ? CALLBACK_REASONS.missingState : CALLBACK_REASONS.malformedState)
  if (input.cookie === undefined) return invalid(CALLBACK_REASONS.missingCookie)
  if (!input.cookie.valid || !isRandomToken(input.cookie.value)) return invalid(CALLBACK_REASONS.badCookie)

  const ownerSeen = await input.identifyUser()
  let consumed
  try {
    consumed = await deps.states.consume({ state: input.state, platform: platform.name }, { bindingHash: bindingHash(input.cookie.value), ownerUserId: ownerSeen })
  } catch (err) {
    if (err instanceof StoreUnavailableError) return { outcome: CALLBACK_ERRORS.storeUnavailable, reason: CALLBACK_REASONS.consumeFailed, returnTo: DEFAULT_RETURN_TO, stateSpent: false }
    throw err
  }
  if (!consumed.consumed) return invalid(consumed.reason)
  const { returnTo, ownerUserId, codeVerifier } = consumed.state
  const end = (outcome: CallbackOutcome['outcome'], reason: CallbackReason): CallbackOutcome => ({ outcome, reason, returnTo, stateSpent: true })

  if (input.providerError !== undefined) return end(callbackErrorOf(input.providerError), `provider_${loggableCode(input.providerError)}`)
  if (input.code === undefined || input.code === '') return end(CALLBACK_ERRORS.exchangeFailed, CALLBACK_REASONS.missingCode)

  let grant
  try {
    grant = await platform.exchangeCode({ code: input.code, codeVerifier })
  } catch (err) {
    if (err instanceof ProviderError) return end(err.code, err.reason)
    return end(CALLBACK_ERRORS.exchangeFailed, `unexpected_${err instanceof Error ? err.name : typeof err}`)
  }
  try {
    await deps.tokens.saveConnection({
      userId: ownerUserId,
      platform: platform.name,
      account: grant.account,
      scopes: grant.scopes ?? platform.config.scopes,
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresAtMs: grant.expiresAtMs,
      refreshExpiresAtMs: grant.refreshExpiresAtMs
    })
  } catch (err) {
    if (err instanceof StoreUnavailableError) return end(CALLBACK_ERRORS.storeUnavailable, CALLBACK_REASONS.saveFailed)
    throw err
  }
  return end(CONNECTED, CALLBACK_REASONS.stored)
}
