// The connect flow's answers as data: the contract's `error=` codes, and how a provider's own `error`
// parameter on the callback maps onto them.
// @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 (authorization error response)
import { PROVIDER_ERROR_CODES } from '../platforms/oauth-errors.js'
import { STORE_ERRORS } from '../store/errors.js'

/** The provider's own codes (a ProviderError's), and ours for the state and the store. */
export const CALLBACK_ERRORS = {
  ...PROVIDER_ERROR_CODES,
  invalidState: 'invalid_state',
  /** Not a provider's fault: DynamoDB did not answer while the flow was consumed or stored. */
  storeUnavailable: STORE_ERRORS.unavailable
} as const
export type CallbackError = typeof CALLBACK_ERRORS[keyof typeof CALLBACK_ERRORS]

/** The provider's `error=` on the redirect back: the user said no, the provider is down, or it refused the request. */
export function callbackErrorOf (providerError: string): CallbackError {
  if (providerError === 'access_denied') return CALLBACK_ERRORS.accessDenied
  if (providerError === 'server_error' || providerError === 'temporarily_unavailable') return CALLBACK_ERRORS.providerUnavailable
  // invalid_scope, unauthorized_client, invalid_request…: a configuration problem on our side.
  return CALLBACK_ERRORS.exchangeFailed
}

/** A provider error code fit for a log line (it came from the query string: bound it, never echo junk). */
export function loggableCode (value: string): string {
  return /^[a-z][a-z0-9_]{0,40}$/.test(value) ? value : 'other'
}
