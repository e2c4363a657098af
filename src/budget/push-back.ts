// Reads a provider's answer for a push-back: how long the whole platform must stop calling, if at all.
// A 429 says so with Retry-After (RFC 9110 §10.2.3) or, at Reddit, with x-ratelimit-reset (seconds);
// Reddit also says it before any 429, with x-ratelimit-remaining at or below 0 (written `0.0`).
// The header names are Reddit's; any provider that sends them means the same thing.
// @see https://support.reddithelp.com/hc/en-us/articles/16160319875092-Reddit-Data-API-Wiki
import { parseRetryAfterMs } from '../platforms/provider-http.js'

/** How long to pause when the provider pushes back without saying for how long. */
const DEFAULT_PAUSE_MS = 60_000

const REMAINING_HEADER = 'x-ratelimit-remaining'
const RESET_HEADER = 'x-ratelimit-reset'

/** Seconds, as Reddit writes them (an integer, or a decimal like `0.0`); undefined when unreadable. */
function seconds (value: string | null): number | undefined {
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return undefined
  return Math.ceil(Number(value) * 1000)
}

/** The pause the answer asks for in ms from `nowMs`, or undefined when it asks for none. */
export function pushBackMs (answer: { readonly status: number, readonly headers: Headers }, nowMs: number): number | undefined {
  const { headers } = answer
  if (answer.status === 429) {
    return parseRetryAfterMs(headers.get('retry-after'), nowMs) ?? seconds(headers.get(RESET_HEADER)) ?? DEFAULT_PAUSE_MS
  }
  const remaining = headers.get(REMAINING_HEADER)
  if (remaining !== null && Number.isFinite(Number(remaining)) && remaining.trim() !== '' && Number(remaining) <= 0) {
    return seconds(headers.get(RESET_HEADER)) ?? DEFAULT_PAUSE_MS
  }
  return undefined
}
