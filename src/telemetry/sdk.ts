// The OpenTelemetry SDK, built only when traces are exported (src/telemetry/register.ts decides).
// Every SDK package is loaded through the `load` function it is given (a synchronous require), never
// by an import of this file: with tracing off, no SDK module is even read from disk.
//
// What is instrumented, and what is deliberately not:
// - Fastify requests: @fastify/otel, attached to every Fastify instance through the
//   `fastify.initialization` diagnostics channel. Its `url.path` (the URL with its query: an OAuth
//   callback's `code`) is replaced by the bare path; lifecycle-hook spans are off (a span per hook per
//   request is most of the overhead and says little).
// - DynamoDB: @opentelemetry/instrumentation-aws-sdk (require-in-the-middle hooks on the SDK's
//   CommonJS modules: they must be in place before the AWS SDK is first loaded, hence register.ts
//   being the first import of src/server.ts).
// - Provider and webhook calls: spans of our own (src/platforms/provider-http.ts,
//   src/webhooks/delivery.ts) recording method, host, path and status only. The generic http/undici
//   instrumentations are not enabled: they record `url.full` with the query, where tokens travel.
// - Metrics and logs signals: none (the service's metrics are EMF log lines).
// The pieces are put together here rather than by @opentelemetry/sdk-node, which brings the metrics,
// logs, gRPC, Zipkin, Jaeger and Prometheus packages along (35 MB of the image for signals we never send).
import type { FastifyOtelInstrumentation as FastifyOtel, FastifyOtelInstrumentationOpts } from '@fastify/otel'
import type { AwsInstrumentation as AwsSdk } from '@opentelemetry/instrumentation-aws-sdk'
import type { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import type { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import type * as Api from '@opentelemetry/api'
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks'
import type * as Core from '@opentelemetry/core'
import type * as Instrumentation from '@opentelemetry/instrumentation'
import type * as Resources from '@opentelemetry/resources'
import type * as SdkTrace from '@opentelemetry/sdk-trace'
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace'
import { RedactingSpanProcessor, stripQuery } from './redaction.js'
import { OTLP_PROTOCOLS, type TracingSettings } from './settings.js'
import { markTracingActive } from './tracing.js'

/** A synchronous module loader (createRequire's). */
export type ModuleLoader = (id: string) => unknown

/** Paths whose requests make no span: the liveness probe answers every few seconds and touches nothing. */
const UNTRACED_PATHS = new Set(['/healthz'])

type Env = Readonly<Record<string, string | undefined>>

function nonNegative (env: Env, name: string): number | undefined {
  const value = Number(env[name])
  return env[name] === undefined || env[name]?.trim() === '' || !Number.isFinite(value) || value < 0 ? undefined : value
}

function exporterFor (settings: TracingSettings, load: ModuleLoader): HttpJsonExporter | ProtobufExporter {
  if (settings.protocol === OTLP_PROTOCOLS.json) {
    const { OTLPTraceExporter } = load('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')
    return new OTLPTraceExporter()
  }
  const { OTLPTraceExporter } = load('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto')
  return new OTLPTraceExporter()
}

/** @fastify/otel's options: the bare path in `url.path`, the route in the span's name, no hook spans. */
export function fastifyOtelOptions (): FastifyOtelInstrumentationOpts {
  return {
    registerOnInitialization: true,
    instrumentHooks: false,
    instrumentHandler: false,
    // An exception event would carry the error's message and stack; the span's status says enough.
    recordExceptions: false,
    ignorePaths: ({ url }) => UNTRACED_PATHS.has(stripQuery(url)),
    requestHook: (span, request) => {
      span.setAttribute('url.path', stripQuery(request.url))
      span.updateName(`${request.method} ${request.routeOptions.url ?? 'unmatched'}`)
    }
  }
}

/** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, the ratio kinds; unset or anything else: every trace (parent-based). */
function samplerFromEnv (trace: typeof SdkTrace, env: Env): Sampler | undefined {
  const ratio = Math.min(1, nonNegative(env, 'OTEL_TRACES_SAMPLER_ARG') ?? 1)
  switch (env.OTEL_TRACES_SAMPLER) {
    case 'traceidratio': return new trace.TraceIdRatioBasedSampler(ratio)
    case 'parentbased_traceidratio': return new trace.ParentBasedSampler({ root: new trace.TraceIdRatioBasedSampler(ratio) })
    case 'always_off': return new trace.AlwaysOffSampler()
    default: return undefined
  }
}

/**
 * Starts the SDK: OTLP over HTTP (protobuf or JSON) to OTEL_EXPORTER_OTLP_ENDPOINT, batched off the
 * request path (a receiver that is down or slow costs a failed export in the background, never a
 * request's time; the queue is bounded and drops when full). Returns the shutdown that flushes.
 */
export function startTracingSdk (settings: TracingSettings, load: ModuleLoader, env: Env = process.env): () => Promise<void> {
  const api = load('@opentelemetry/api') as typeof Api
  const trace = load('@opentelemetry/sdk-trace') as typeof SdkTrace
  const core = load('@opentelemetry/core') as typeof Core
  const resources = load('@opentelemetry/resources') as typeof Resources
  const { AsyncLocalStorageContextManager } = load('@opentelemetry/context-async-hooks') as typeof ContextAsyncHooks
  const { registerInstrumentations } = load('@opentelemetry/instrumentation') as typeof Instrumentation
  const { FastifyOtelInstrumentation } = load('@fastify/otel') as { FastifyOtelInstrumentation: typeof FastifyOtel }
  const { AwsInstrumentation } = load('@opentelemetry/instrumentation-aws-sdk') as { AwsInstrumentation: typeof AwsSdk }

  // The instrumentations first: their hooks must be in place before the AWS SDK and Fastify load.
  const unregister = registerInstrumentations({
    instrumentations: [
      new FastifyOtelInstrumentation(fastifyOtelOptions()),
      new AwsInstrumentation({ suppressInternalInstrumentation: true })
    ]
  })
  const contextManager = new AsyncLocalStorageContextManager().enable()
  api.context.setGlobalContextManager(contextManager)
  // W3C trace context and baggage, as the SDK's default (incoming `traceparent` continues a trace).
  api.propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }))

  // The standard OTEL_BSP_* variables (read here: the batch processor is built by hand).
  const limits = Object.entries({
    maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
    scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY',
    exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
    maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'
  }).flatMap(([option, name]) => { const value = nonNegative(env, name); return value === undefined ? [] : [[option, value]] })
  const batch = new trace.BatchSpanProcessor({ exporter: exporterFor(settings, load), ...Object.fromEntries(limits) })
  // service.name: OTEL_SERVICE_NAME (the configuration's), else OTEL_RESOURCE_ATTRIBUTES', else the default.
  let resource = resources.defaultResource().merge(resources.detectResources({ detectors: [resources.envDetector] }))
  if (settings.serviceName !== undefined) resource = resource.merge(resources.resourceFromAttributes({ 'service.name': settings.serviceName }))
  const sampler = samplerFromEnv(trace, env)
  const provider = new trace.TracerProvider({
    resource,
    ...(sampler === undefined ? {} : { sampler }),
    // Redaction first: its onEnding runs while the span can still be changed, before the batch holds it.
    spanProcessors: [new RedactingSpanProcessor() as unknown as SpanProcessor, batch]
  })
  api.trace.setGlobalTracerProvider(provider)
  const shutdown = async (): Promise<void> => {
    unregister()
    await provider.shutdown()
  }
  markTracingActive(shutdown)
  return shutdown
}
