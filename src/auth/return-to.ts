// Where the connect flow sends the browser back: only a path on the app, never another origin, so the
// flow can never be used as an open redirect.
// @see https://datatracker.ietf.org/doc/html/rfc9700#section-4.11 (open redirection)
export const DEFAULT_RETURN_TO = '/settings/integrations'

const MAX_RETURN_TO_LENGTH = 1024
// Control characters (C0, DEL, C1): browsers strip some of them from URLs, turning `/\t/evil` into `//evil`.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/

/** True when `value` (one layer of it) is a plain app path: `/…`, not `//…`, no backslash, no control char. */
function isPlainPath (value: string): boolean {
  return value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.includes('\\') &&
    !CONTROL_CHARS.test(value)
}

/** `value` as the browser would resolve it on the app: dot segments applied (`/a/..//x` is `//x`). */
function normalised (value: string, origin: string): string | undefined {
  try {
    const url = new URL(`${origin}${value}`)
    return url.origin === origin ? `${url.pathname}${url.search}` : undefined
  } catch {
    return undefined
  }
}

/**
 * Answers a safe app path for `candidate`, or the default. Every percent-decoding layer must be a
 * plain path too (`/%2F%2Fevil.example`, `/%5Cevil.example` are refused), before and after its dot
 * segments are resolved (`/a/..//evil.example`, `/a/..%2F%2Fevil.example`), and the path resolved
 * against the app URL must stay on the app's origin. The callback calls it again on the stored value.
 * The fragment is dropped: the redirect adds a query after it.
 */
export function safeReturnTo (candidate: unknown, appUrl: string): string {
  if (typeof candidate !== 'string' || candidate === '' || candidate.length > MAX_RETURN_TO_LENGTH) return DEFAULT_RETURN_TO
  const origin = new URL(appUrl).origin
  let layer = candidate
  for (let depth = 0; depth < 5; depth++) {
    const resolvedLayer = normalised(layer, origin)
    if (!isPlainPath(layer) || resolvedLayer === undefined || !isPlainPath(resolvedLayer)) return DEFAULT_RETURN_TO
    let decoded: string
    try {
      decoded = decodeURIComponent(layer)
    } catch {
      return DEFAULT_RETURN_TO
    }
    if (decoded === layer) break
    layer = decoded
    // Still encoded after five layers: nobody writes that by accident.
    if (depth === 4) return DEFAULT_RETURN_TO
  }
  return normalised(candidate, origin) ?? DEFAULT_RETURN_TO
}

/** `<APP_URL><returnTo>` with `params` set on its query (`?` or `&` as the path needs). */
export function appRedirect (appUrl: string, returnTo: string, params: Readonly<Record<string, string>>): string {
  const url = new URL(`${appUrl}${returnTo}`)
  for (const name of ['connected', 'error', 'platform']) url.searchParams.delete(name)
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
  return url.toString()
}
