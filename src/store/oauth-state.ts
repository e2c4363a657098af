// One-time OAuth states of the connect flow: saved at the start, consumed once by the callback.
// The PKCE verifier is sealed with the app cipher (bound to the state item) like every secret at rest.
// @see https://datatracker.ietf.org/doc/html/rfc9700#section-4.7 (CSRF) and §4.4.2 (mix-up)
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Cipher } from './crypto.js'
import { conditionalWrite } from './dynamodb-calls.js'
import { storeCall } from './errors.js'
import { consumeStateParams, putStateParams, STATE_ATTR, stateItemKey, type StateKey } from './oauth-state-params.js'

export const STATE_LIFETIME_MS = 10 * 60_000

export interface NewOAuthState extends StateKey {
  readonly ownerUserId: string
  readonly bindingHash: string
  readonly returnTo: string
  readonly codeVerifier?: string | undefined
}

export interface OAuthState {
  readonly ownerUserId: string
  readonly returnTo: string
  readonly codeVerifier?: string | undefined
}

const CONSUME_FAILURES = {
  unknown: 'unknown_state',
  expired: 'expired_state',
  otherBrowser: 'browser_mismatch',
  otherUser: 'user_mismatch',
  /** Consumed, but its sealed verifier does not open (key rotated out, item tampered with). */
  unreadable: 'unreadable_state'
} as const
export type ConsumeFailure = typeof CONSUME_FAILURES[keyof typeof CONSUME_FAILURES]

export type ConsumeResult =
  | { readonly consumed: true, readonly state: OAuthState }
  | { readonly consumed: false, readonly reason: ConsumeFailure }

export interface OAuthStateStoreOptions {
  readonly doc: DynamoDBDocumentClient
  readonly table: string
  readonly cipher: Cipher
  readonly now?: () => number
  readonly lifetimeMs?: number
}

export interface OAuthStateStore {
  save (state: NewOAuthState): Promise<{ readonly validUntilMs: number }>
  consume (key: StateKey, condition: { readonly bindingHash: string, readonly ownerUserId?: string | undefined }): Promise<ConsumeResult>
}

/** Associated data of a sealed verifier: it opens only on the state item that sealed it. */
function verifierContext (k: StateKey): string {
  return `oauth-refresher/v1\u0000oauth-state\u0000${k.state}\u0000${k.platform}\u0000code_verifier`
}

export function createOAuthStateStore ({ doc, table, cipher, now = Date.now, lifetimeMs = STATE_LIFETIME_MS }: OAuthStateStoreOptions): OAuthStateStore {
  return {
    async save (state) {
      const nowMs = now()
      const validUntilMs = nowMs + lifetimeMs
      const item: Record<string, unknown> = {
        ...stateItemKey(state),
        [STATE_ATTR.ownerUserId]: state.ownerUserId,
        [STATE_ATTR.bindingHash]: state.bindingHash,
        [STATE_ATTR.returnTo]: state.returnTo,
        [STATE_ATTR.createdAtMs]: nowMs,
        [STATE_ATTR.validUntilMs]: validUntilMs,
        [STATE_ATTR.ttl]: Math.ceil(validUntilMs / 1000)
      }
      if (state.codeVerifier !== undefined) item[STATE_ATTR.codeVerifier] = cipher.encrypt(state.codeVerifier, verifierContext(state))
      await storeCall('PutItem', () => doc.send(new PutCommand(putStateParams(table, item))))
      return { validUntilMs }
    },

    async consume (key, condition) {
      const nowMs = now()
      const sent = await conditionalWrite('DeleteItem', () => doc.send(new DeleteCommand(consumeStateParams(table, key, { ...condition, nowMs }))))
      if (!sent.applied) return { consumed: false, reason: failureReason(sent.item, condition, nowMs) }
      const item = sent.output.Attributes
      if (item === undefined) return { consumed: false, reason: CONSUME_FAILURES.unknown }
      const sealed = item[STATE_ATTR.codeVerifier]
      let codeVerifier: string | undefined
      try {
        codeVerifier = typeof sealed === 'string' ? cipher.decrypt(sealed, verifierContext(key)) : undefined
      } catch {
        return { consumed: false, reason: CONSUME_FAILURES.unreadable }
      }
      return {
        consumed: true,
        state: { ownerUserId: String(item[STATE_ATTR.ownerUserId]), returnTo: String(item[STATE_ATTR.returnTo]), codeVerifier }
      }
    }
  }
}

function failureReason (item: Record<string, unknown> | undefined, condition: { readonly bindingHash: string, readonly ownerUserId?: string | undefined }, nowMs: number): ConsumeFailure {
  if (item === undefined) return CONSUME_FAILURES.unknown
  const validUntilMs = item[STATE_ATTR.validUntilMs]
  if (typeof validUntilMs !== 'number' || validUntilMs <= nowMs) return CONSUME_FAILURES.expired
  if (item[STATE_ATTR.bindingHash] !== condition.bindingHash) return CONSUME_FAILURES.otherBrowser
  return CONSUME_FAILURES.otherUser
}
