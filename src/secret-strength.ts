// What production refuses as a secret or an endpoint: short or repetitive secrets, a key that is not
// random, and plain-http URLs other than loopback. Pure checks; config.ts names the variables.
export const MIN_SECRET_LENGTH = 32
/** Random text of 32+ characters has far more; `aaaa…`, `abab…` and `123123…` have fewer. */
const MIN_DISTINCT_CHARS = 10
/** 32 random bytes hold ~30 distinct values; fewer than 16 is no random key (all zeros has 1). */
const MIN_DISTINCT_KEY_BYTES = 16

/** Why `secret` is too weak for production, or undefined. Never quotes it. */
export function secretWeakness (secret: string): string | undefined {
  if (secret.length < MIN_SECRET_LENGTH) return `holds a secret shorter than ${MIN_SECRET_LENGTH} characters`
  if (new Set(secret).size < MIN_DISTINCT_CHARS) return 'holds a low-entropy secret (too few distinct characters)'
  return undefined
}

/** True when a 32-byte key cannot have come from a random generator. */
export function isWeakKey (key: Uint8Array): boolean {
  return new Set(key).size < MIN_DISTINCT_KEY_BYTES
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** True for an `http:` URL whose host is not loopback (local emulators and fakes are). */
export function isPlainHttpRemote (value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.protocol !== 'http:') return false
  return !(LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname.endsWith('.localhost'))
}
