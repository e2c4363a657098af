// Whether this process exports traces, read from the standard OTEL_* variables before anything else
// starts. Pure: takes the environment it is given.

export const OTLP_PROTOCOLS = { protobuf: 'http/protobuf', json: 'http/json' } as const
export type OtlpProtocol = typeof OTLP_PROTOCOLS[keyof typeof OTLP_PROTOCOLS]

/** The service's name in traces when OTEL_SERVICE_NAME is unset. */
export const DEFAULT_SERVICE_NAME = 'oauth-refresher'

export interface TracingSettings {
  readonly protocol: OtlpProtocol
  /** Unset: the SDK's resource detection takes OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES as they are. */
  readonly serviceName?: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== ''

/**
 * The settings when traces are to be exported, else undefined: an OTLP endpoint (all signals', or the
 * traces' own) that parses as an http(s) URL, and neither OTEL_SDK_DISABLED=true nor
 * OTEL_TRACES_EXPORTER=none. The protocol is http/protobuf unless http/json is asked for; the
 * configuration schema (src/config.ts) refuses any other value at start-up.
 */
export function tracingSettings (env: Env): TracingSettings | undefined {
  const endpoint = [env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT].find(set)
  if (endpoint === undefined || !/^https?:\/\//i.test(endpoint.trim()) || !URL.canParse(endpoint.trim())) return undefined
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined
  const asked = [env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, env.OTEL_EXPORTER_OTLP_PROTOCOL].find(set)?.trim()
  return {
    protocol: asked === OTLP_PROTOCOLS.json ? OTLP_PROTOCOLS.json : OTLP_PROTOCOLS.protobuf,
    serviceName: set(env.OTEL_SERVICE_NAME) ? undefined : DEFAULT_SERVICE_NAME
  }
}
