// What production refuses as a secret or an endpoint: short, repetitive or predictable secrets (runs,
// repeats, words), a key that is not random, and plain-http URLs other than loopback. Pure checks;
// config.ts names the variables.
const MIN_SECRET_LENGTH = 32
/** Random text of 32+ characters has far more; `aaaa…`, `abab…` and `123123…` have fewer. */
const MIN_DISTINCT_CHARS = 10
/** 32 random bytes hold ~30 distinct values; fewer than 16 is no random key (all zeros has 1). */
const MIN_DISTINCT_KEY_BYTES = 16

/**
 * Characters that carry information once sequences, repeats and words are counted as one each: a
 * generated key of 32+ characters keeps nearly all of them (~30 for 32 random base64url characters),
 * `0123456789` × 4 keeps 3 and `password1234567890password1234567890` keeps 4.
 */
const MIN_UNPREDICTABLE_CHARS = 20
/** A run of this many characters stepping by -1, 0 or +1 (`abcd`, `9876`, `aaaa`) counts as one. */
const MIN_RUN = 3
/** Words people put into secrets by hand, and keyboard rows; lower-cased, 4+ letters. */
const WORDS = [
  'password', 'passwd', 'passphrase', 'secret', 'admin', 'letmein', 'welcome', 'changeme', 'change', 'default',
  'internal', 'cookie', 'token', 'cron', 'test', 'example', 'local', 'master', 'login', 'root', 'user', 'pass',
  'qwertyuiop', 'qwerty', 'asdfghjkl', 'asdf', 'zxcvbnm', 'zxcv', 'azerty', 'dragon', 'monkey', 'shadow',
  'sunshine', 'football', 'iloveyou', 'trustno1', 'huntaze', 'oauth', 'refresh', 'production', 'prod', 'staging'
] as const

/** Length of the longest predictable piece starting at `i` (1 when there is none). */
function predictableAt (s: string, lower: string, i: number): number {
  let best = 1
  for (const word of WORDS) if (lower.startsWith(word, i)) best = Math.max(best, word.length)
  // A constant step of -1, 0 or +1 between character codes.
  const step = s.charCodeAt(i + 1) - s.charCodeAt(i)
  if (Math.abs(step) <= 1) {
    let end = i + 1
    while (end + 1 < s.length && s.charCodeAt(end + 1) - s.charCodeAt(end) === step) end++
    if (end - i + 1 >= MIN_RUN) best = Math.max(best, end - i + 1)
  }
  // A repeat of something already seen.
  let length = MIN_RUN
  while (i + length <= s.length && s.slice(0, i).includes(s.slice(i, i + length))) length++
  if (length - 1 >= MIN_RUN) best = Math.max(best, length - 1)
  return best
}

/** How many pieces `secret` is made of, each sequence, repeat or word counting as one. */
export function unpredictableChars (secret: string): number {
  const lower = secret.toLowerCase()
  let count = 0
  for (let i = 0; i < secret.length; i += predictableAt(secret, lower, i)) count++
  return count
}

/** Why `secret` is too weak for production, or undefined. Never quotes it. */
export function secretWeakness (secret: string): string | undefined {
  if (secret.length < MIN_SECRET_LENGTH) return `holds a secret shorter than ${MIN_SECRET_LENGTH} characters`
  if (new Set(secret).size < MIN_DISTINCT_CHARS) return 'holds a low-entropy secret (too few distinct characters)'
  if (unpredictableChars(secret) < MIN_UNPREDICTABLE_CHARS) return 'holds a predictable secret (sequences, repeats or words; generate one: docs/configuration.md)'
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
