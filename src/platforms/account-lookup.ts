// Account id and username after a code exchange: one bearer GET, read by the platform's own picker.
// Failures become ProviderError codes for the callback; nothing of the answer goes into a message.
import type { Account } from '../tokens.js'
import { FAILURE_CODES, OUTAGE_CODES, PROVIDER_ERROR_CODES, ProviderError, statusFailure, thrownFailure } from './oauth-errors.js'
import { jsonObject, providerRequest, type ProviderHttp } from './provider-http.js'

/** A provider id as a string: ids arrive as strings or (Graph) numbers. */
export function idString (value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  return undefined
}

export function optionalString (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * GETs `url` with `Authorization: Bearer` (the token never goes into the URL) and picks the account
 * out of the JSON body. Throws ProviderError: provider_unavailable on outages, exchange_failed otherwise.
 */
export async function lookupAccount (
  http: ProviderHttp, url: string, accessToken: string, pick: (body: Record<string, unknown>) => Account | undefined
): Promise<Account> {
  let answer
  try {
    answer = await providerRequest(http, url, { method: 'GET', headers: { authorization: `Bearer ${accessToken}` } })
  } catch (err) {
    throw ProviderError.fromFailure(thrownFailure(err), 'account lookup', OUTAGE_CODES, { cause: err })
  }
  if (answer.status < 200 || answer.status > 299) throw ProviderError.fromFailure(statusFailure(answer, http.now()), 'account lookup')
  const body = jsonObject(answer)
  const account = body === undefined ? undefined : pick(body)
  if (account === undefined) throw new ProviderError(PROVIDER_ERROR_CODES.exchangeFailed, FAILURE_CODES.malformed, 'account lookup')
  return account
}
