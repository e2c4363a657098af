// Spans for the service's own units of work (a cron run, a refresh, a handout, a webhook delivery, a
// provider call), framework-free: domain modules call withSpan() and never see the SDK.
// Until src/telemetry/register.ts has started the SDK (only with an OTLP endpoint configured) every
// helper here is a plain call: no span object, no context switch, no attribute built.
import { context, createContextKey, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api'

/** Attribute values a span of ours may carry: codes, names, counts. Never a token, a secret or a URL query. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>

/** What the work inside a span may do with it. */
export interface SpanHandle {
  setAttributes (attributes: SpanAttributes): void
}

export const SPAN_KINDS = { internal: 'internal', client: 'client' } as const
export type SpanKindName = typeof SPAN_KINDS[keyof typeof SPAN_KINDS]

export interface SpanOptions {
  /** `client` for a call to another service (a provider); default `internal`. */
  readonly kind?: SpanKindName | undefined
  /** Start a trace of its own instead of a child of the active span (and even under untraced()). */
  readonly root?: boolean | undefined
}

// The SDK's own "tracing suppressed" flag: @opentelemetry/core's suppressTracing() sets this very key
// (createContextKey is Symbol.for(description)); the tracer records nothing started under it, the AWS
// SDK's spans included. tracing.test.ts fails if the SDK ever changes it.
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING')

const TRACER_NAME = 'oauth-refresher'

const NOOP_HANDLE: SpanHandle = { setAttributes () {} }

// One flag per process, set once at start-up before any request: nothing per instance to agree on.
let active = false
let shutdownHook: (() => Promise<void>) | undefined

/** True once the SDK has started in this process (OTEL_EXPORTER_OTLP_ENDPOINT set). */
export function tracingActive (): boolean {
  return active
}

/** Called by the SDK's start-up with the function that flushes and stops it. */
export function markTracingActive (shutdown: () => Promise<void>): void {
  active = true
  shutdownHook = shutdown
}

/**
 * Flushes the spans still queued and stops the exporter (at shutdown), for at most `timeoutMs`: a
 * collector that hangs must not hold the process past its grace period (spans still queued then are
 * lost, the process's own work is not). Nothing when tracing is off.
 */
export async function shutdownTracing (timeoutMs = 2_000): Promise<void> {
  const hook = shutdownHook
  shutdownHook = undefined
  active = false
  if (hook === undefined) return
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
  try {
    await Promise.race([hook().catch(() => {}), deadline])
  } finally {
    clearTimeout(timer)
  }
}

function defined (attributes: SpanAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value
  return out
}

function handleOf (span: Span): SpanHandle {
  return { setAttributes: (attributes) => { span.setAttributes(defined(attributes)) } }
}

/**
 * Runs `fn` inside a span named `name`, a child of the active span (a request's, a run's), and ends
 * it when `fn` settles. A throw marks the span as an error with the error's name only (a message
 * can hold what a span must not) and is re-thrown as it was.
 */
export async function withSpan<T> (
  name: string, attributes: SpanAttributes, fn: (span: SpanHandle) => Promise<T>, options: SpanOptions = {}
): Promise<T> {
  if (!active) return await fn(NOOP_HANDLE)
  const tracer = trace.getTracer(TRACER_NAME)
  const parent = options.root === true ? ROOT_CONTEXT : context.active()
  const span = tracer.startSpan(name, { kind: options.kind === SPAN_KINDS.client ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes: defined(attributes) }, parent)
  try {
    return await context.with(trace.setSpan(parent, span), async () => await fn(handleOf(span)))
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : typeof err })
    throw err
  } finally {
    span.end()
  }
}

/**
 * Runs `fn` with nothing traced inside it (its DynamoDB calls included), except spans started with
 * `root: true`. For background chores that would otherwise make a trace every second: the webhook
 * outbox's poll.
 */
export async function untraced<T> (fn: () => Promise<T>): Promise<T> {
  if (!active) return await fn()
  return await context.with(context.active().setValue(SUPPRESS_TRACING, true), fn)
}

/** `trace_id` and `span_id` of the active span, for the log line being written (pino's mixin). */
export function traceLogFields (): { trace_id?: string, span_id?: string } {
  const span = trace.getSpan(context.active())
  if (span === undefined) return {}
  const { traceId, spanId } = span.spanContext()
  return { trace_id: traceId, span_id: spanId }
}
