// The last filter before a span leaves the process: whatever an instrumentation recorded, a URL
// attribute keeps its path and loses its query (an OAuth callback's `code`, a token in a Graph API
// query), and attributes that can only hold a query, a body or a header value are dropped.
// Ours (src/telemetry/tracing.ts callers) never set such attributes; @fastify/otel sets `url.path`
// to the request URL with its query, and an HTTP instrumentation enabled by someone later would set
// `url.full`. This is the net under both.
import type { Context } from '@opentelemetry/api'

/** Attributes that hold a URL or a path: kept without the query or fragment. */
const URL_ATTRIBUTES = ['url.path', 'url.full', 'http.url', 'http.target', 'url.original'] as const

/** Attributes that only ever hold a query, a body or header values: dropped whole. */
const DROPPED_PREFIXES = ['url.query', 'http.request.body', 'http.response.body', 'http.request.header.', 'http.response.header.', 'db.query.parameter.'] as const

/** `value` without its query string and fragment (and without user:password@ in an absolute URL). */
export function stripQuery (value: string): string {
  const cut = value.search(/[?#]/)
  const bare = cut === -1 ? value : value.slice(0, cut)
  return bare.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
}

/** The attribute changes that make `attributes` safe to export: new values, and keys to remove. */
export function redactAttributes (attributes: Readonly<Record<string, unknown>>): { readonly set: Record<string, string>, readonly remove: string[] } {
  const set: Record<string, string> = {}
  const remove: string[] = []
  for (const [key, value] of Object.entries(attributes)) {
    if (DROPPED_PREFIXES.some((prefix) => key === prefix || key.startsWith(prefix))) {
      remove.push(key)
      continue
    }
    if ((URL_ATTRIBUTES as readonly string[]).includes(key) && typeof value === 'string') {
      const bare = stripQuery(value)
      if (bare !== value) set[key] = bare
    }
  }
  return { set, remove }
}

/** The slice of the SDK's Span the processor touches (still writable in onEnding). */
interface EndingSpan {
  readonly attributes: Readonly<Record<string, unknown>>
  readonly status: { readonly code: number, readonly message?: string | undefined }
  setAttribute (key: string, value: string): unknown
  setStatus (status: { code: number, message?: string }): unknown
}

/** A status message without any query string in it (Fastify's messages may quote a request URL). */
export function redactMessage (message: string): string {
  return message.replace(/\?[^\s'"]*/g, '')
}

/**
 * A span processor placed before the exporting one: `onEnding` runs while the span can still be
 * written, so the exporter only ever sees the redacted attributes. Removal writes through to the
 * attributes object (the SDK has no removeAttribute; the span is not yet read-only).
 */
export class RedactingSpanProcessor {
  onStart (_span: unknown, _parentContext: Context): void {}

  onEnding (span: EndingSpan): void {
    const { set, remove } = redactAttributes(span.attributes)
    for (const [key, value] of Object.entries(set)) span.setAttribute(key, value)
    const writable = span.attributes as Record<string, unknown>
    for (const key of remove) Reflect.deleteProperty(writable, key)
    const { code, message } = span.status
    if (message !== undefined && redactMessage(message) !== message) span.setStatus({ code, message: redactMessage(message) })
  }

  onEnd (): void {}

  async forceFlush (): Promise<void> {}

  async shutdown (): Promise<void> {}
}
