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
import type { FastifyOtelInstrumentation as FastifyOtel, FastifyOtelInstrumentationOpts } from '@fastify/otel'
import type { AwsInstrumentation as AwsSdk } from '@opentelemetry/instrumentation-aws-sdk'
import type { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import type { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import type { NodeSDK as Sdk } from '@opentelemetry/sdk-node'
import type { BatchSpanProcessor as Batch, SpanProcessor } from '@opentelemetry/sdk-trace'
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

/**
 * Starts the SDK: OTLP over HTTP (protobuf or JSON) to OTEL_EXPORTER_OTLP_ENDPOINT, batched off the
 * request path (a receiver that is down or slow costs a failed export in the background, never a
 * request's time; the queue is bounded and drops when full). Returns the shutdown that flushes.
 */
export function startTracingSdk (settings: TracingSettings, load: ModuleLoader, env: Env = process.env): () => Promise<void> {
  const { NodeSDK } = load('@opentelemetry/sdk-node') as { NodeSDK: typeof Sdk }
  const { BatchSpanProcessor } = load('@opentelemetry/sdk-trace') as { BatchSpanProcessor: typeof Batch }
  const { FastifyOtelInstrumentation } = load('@fastify/otel') as { FastifyOtelInstrumentation: typeof FastifyOtel }
  const { AwsInstrumentation } = load('@opentelemetry/instrumentation-aws-sdk') as { AwsInstrumentation: typeof AwsSdk }

  // The standard OTEL_BSP_* variables (the SDK reads them only for processors it builds itself).
  const limits = Object.entries({
    maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
    scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY',
    exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
    maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'
  }).flatMap(([option, name]) => { const value = nonNegative(env, name); return value === undefined ? [] : [[option, value]] })
  const batch = new BatchSpanProcessor({ exporter: exporterFor(settings, load), ...Object.fromEntries(limits) })
  const sdk = new NodeSDK({
    ...(settings.serviceName === undefined ? {} : { serviceName: settings.serviceName }),
    // Redaction first: its onEnding runs while the span can still be changed, before the batch holds it.
    spanProcessors: [new RedactingSpanProcessor() as unknown as SpanProcessor, batch],
    // Traces only: no metric reader, no log exporter (the SDK would otherwise start OTLP ones by default).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new FastifyOtelInstrumentation(fastifyOtelOptions()),
      new AwsInstrumentation({ suppressInternalInstrumentation: true })
    ]
  })
  sdk.start()
  const shutdown = async (): Promise<void> => { await sdk.shutdown() }
  markTracingActive(shutdown)
  return shutdown
}
