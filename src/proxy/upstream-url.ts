// The proxy's upstream URL: always the platform's configured API base (`<P>_API_URL`) + a path that
// is a path and nothing else + the caller's query string. No caller input picks the host, the port or
// the scheme: the path is checked after percent-decoding, the URL is built by concatenation onto the
// base, and the result's origin (and base path) is checked again before any call.
// @see https://www.rfc-editor.org/rfc/rfc3986#section-3.3 and the WHATWG URL standard's dot segments

/** Why a path is not a plain path (the audit line names it; the caller gets `invalid_path`). */
export const PATH_REFUSALS = {
  notAbsolute: 'not_absolute',
  tooLong: 'too_long',
  badEncoding: 'bad_encoding',
  encodedSlash: 'encoded_slash',
  doubleEncoded: 'double_encoded',
  controlCharacter: 'control_character',
  backslash: 'backslash',
  emptySegment: 'empty_segment',
  dotSegment: 'dot_segment',
  colon: 'colon',
  at: 'at_sign',
  fragment: 'fragment',
  badQuery: 'bad_query',
  originChanged: 'origin_changed'
} as const
export type PathRefusal = typeof PATH_REFUSALS[keyof typeof PATH_REFUSALS]

export type UpstreamUrl =
  | { readonly ok: true, readonly url: URL }
  | { readonly ok: false, readonly refusal: PathRefusal }

/** Longer paths are not API calls (and Node's header limits would refuse them later anyway). */
const MAX_PATH_CHARS = 2_048
const MAX_QUERY_CHARS = 8_192

// C0 controls, DEL and C1 controls; also the Unicode line and paragraph separators some parsers split on.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
// What may appear raw in a request target's query (RFC 3986 query characters, `%` for its escapes).
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%[\]{}|^`"<>]*$/

/**
 * The refusal for a raw (still percent-encoded) path, or undefined when it is a plain path: absolute,
 * no encoded `/`, well-formed escapes that decode to no `%`-escape again, and once decoded no control
 * character, backslash, empty segment (`//`), `.` or `..` segment, colon (a scheme, a port), `@`
 * (credentials, a host) or `#`.
 */
export function pathRefusal (rawPath: string): PathRefusal | undefined {
  if (!rawPath.startsWith('/')) return PATH_REFUSALS.notAbsolute
  if (rawPath.length > MAX_PATH_CHARS) return PATH_REFUSALS.tooLong
  // An encoded slash would be one segment here and two at a provider that decodes it.
  if (/%2f/i.test(rawPath)) return PATH_REFUSALS.encodedSlash
  let decoded: string
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    return PATH_REFUSALS.badEncoding
  }
  // `%252e%252e` decodes to `%2e%2e`, which a provider decoding twice would read as `..`.
  if (/%[0-9a-f]{2}/i.test(decoded)) return PATH_REFUSALS.doubleEncoded
  // The decoded text holds every raw character too (decoding only turns escapes into characters).
  if (CONTROL.test(decoded)) return PATH_REFUSALS.controlCharacter
  if (decoded.includes('\\')) return PATH_REFUSALS.backslash
  if (decoded.includes('#')) return PATH_REFUSALS.fragment
  if (decoded.includes('@')) return PATH_REFUSALS.at
  if (decoded.includes(':')) return PATH_REFUSALS.colon
  // The first segment is the one after the leading `/`; a trailing `/` is allowed (`/v2/user/info/`).
  const segments = decoded.slice(1).split('/')
  for (const [i, segment] of segments.entries()) {
    if (segment === '.' || segment === '..') return PATH_REFUSALS.dotSegment
    if (segment === '' && i < segments.length - 1) return PATH_REFUSALS.emptySegment
  }
  return undefined
}

/** The caller's raw query string is passed on as it came, if it holds only query characters. */
function queryRefusal (rawQuery: string): PathRefusal | undefined {
  if (rawQuery.length > MAX_QUERY_CHARS || !QUERY_CHARS.test(rawQuery) || rawQuery.includes('#')) return PATH_REFUSALS.badQuery
  try {
    // Well-formed escapes only; what they decode to is the provider's data, never a header of ours.
    decodeURIComponent(rawQuery.replaceAll('+', ' '))
  } catch {
    return PATH_REFUSALS.badQuery
  }
  return undefined
}

/**
 * `base` + `rawPath` + `?rawQuery`, by string concatenation, then parsed and checked: same origin as
 * the base, still under the base's path. `base` is configuration (`<P>_API_URL`), never input.
 */
export function upstreamUrl (base: string, rawPath: string, rawQuery: string): UpstreamUrl {
  const refusal = pathRefusal(rawPath) ?? (rawQuery === '' ? undefined : queryRefusal(rawQuery))
  if (refusal !== undefined) return { ok: false, refusal }
  const baseUrl = new URL(base)
  const basePath = baseUrl.pathname.replace(/\/+$/, '')
  const text = `${baseUrl.origin}${basePath}${rawPath}${rawQuery === '' ? '' : `?${rawQuery}`}`
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { ok: false, refusal: PATH_REFUSALS.originChanged }
  }
  if (url.origin !== baseUrl.origin || url.username !== '' || url.password !== '' || url.hash !== '' ||
    !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
    return { ok: false, refusal: PATH_REFUSALS.originChanged }
  }
  return { ok: true, url }
}
