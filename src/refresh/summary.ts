// A run's counts: the live tally, the summary written to the lock item and answered by the routes
// (its schema and codec), and the run's one log line, which is also a CloudWatch Embedded Metric Format document.
// @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { STORE_ERRORS } from '../store/errors.js'
import { REFRESH_ERRORS, type RefreshLogger, type TokenOutcome } from './refresh-one.js'

export const METRICS_NAMESPACE = 'OAuthRefresher'
export const SERVICE_NAME = 'oauth-refresher'

// Defaults fill what an older (or hand-written, ops) summary lacks: a count it has no member for is 0.
const Count = Type.Integer({ minimum: 0, default: 0 })

/** Why a run stopped early, when it did. */
export const RUN_ERRORS = {
  storeUnavailable: STORE_ERRORS.unavailable,
  shutdown: 'shutdown',
  /** A bug: the same code a token's refresh counts when it crashes. */
  internal: REFRESH_ERRORS.internal
} as const
export type RunError = typeof RUN_ERRORS[keyof typeof RUN_ERRORS]

/** One platform's counts in a run. */
const PlatformTallySchema = Type.Object({
  platform: Type.String(),
  configured: Type.Boolean({ default: false }),
  /** Keys the run read from the index for this platform. */
  due: Count,
  refreshed: Count,
  failed: Count,
  needsReauth: Count,
  /** Due, but left for a later run: budget, backoff, rate cap, too young to refresh. */
  deferred: Count,
  /** Read from the index but needing nothing: another writer made it fresh, holds it, or won a race. */
  skippedTokens: Count
})
export type PlatformTally = Static<typeof PlatformTallySchema>

/** The run totals, the same names per platform and for the whole run. */
export const RUN_COUNTS = ['refreshed', 'failed', 'needsReauth', 'deferred', 'skippedTokens'] as const
type RunCount = typeof RUN_COUNTS[number]

/**
 * A run's summary: the live tally, what the runner writes to the lock item, what the cron route and
 * `/last` answer from, what the ops CLI prints. One schema, one type, one codec (decodeRunSummary).
 */
export const RunSummarySchema = Type.Object({
  runId: Type.String(),
  done: Type.Boolean({ default: true }),
  partial: Type.Boolean({ default: false }),
  startedAtMs: Count,
  finishedAtMs: Count,
  durationMs: Count,
  ...Type.Pick(PlatformTallySchema, RUN_COUNTS).properties,
  results: Type.Array(PlatformTallySchema, { default: [] }),
  /** Our error codes seen in the run, with how often (never a provider body). */
  errorCodes: Type.Record(Type.String(), Count, { default: {} }),
  /** Why the run stopped early, when it did. */
  error: Type.Optional(Type.Union([Type.Literal(RUN_ERRORS.storeUnavailable), Type.Literal(RUN_ERRORS.shutdown), Type.Literal(RUN_ERRORS.internal)]))
})
export type RunSummary = Static<typeof RunSummarySchema>

/** A platform's counts as the routes answer them (the tokens that needed nothing are in the totals). */
export const PlatformResultSchema = Type.Omit(PlatformTallySchema, ['skippedTokens'])
type PlatformResult = Static<typeof PlatformResultSchema>

export function publicResults (results: readonly PlatformTally[]): PlatformResult[] {
  return results.map(({ skippedTokens: _, ...r }) => r)
}

/**
 * A stored summary back, or null when the item holds none or something else. Members added since a
 * summary was written take their defaults (an older item has no `skippedTokens`).
 */
export function decodeRunSummary (stored: unknown): RunSummary | null {
  if (typeof stored !== 'object' || stored === null) return null
  const value = Value.Default(RunSummarySchema, structuredClone(stored))
  return Value.Check(RunSummarySchema, value) ? value : null
}

export function emptyTally (platform: string, configured: boolean): PlatformTally {
  return { platform, configured, due: 0, refreshed: 0, failed: 0, needsReauth: 0, deferred: 0, skippedTokens: 0 }
}

const COUNTER_OF: Record<TokenOutcome, RunCount> = {
  refreshed: 'refreshed',
  failed: 'failed',
  needsReauth: 'needsReauth',
  deferred: 'deferred',
  skipped: 'skippedTokens'
}

export function countOutcome (tally: PlatformTally, outcome: TokenOutcome): void {
  tally[COUNTER_OF[outcome]] += 1
}

export function totals (results: readonly PlatformTally[]): Pick<RunSummary, RunCount> {
  const sum = (k: RunCount): number => results.reduce((n, r) => n + r[k], 0)
  return { refreshed: sum('refreshed'), failed: sum('failed'), needsReauth: sum('needsReauth'), deferred: sum('deferred'), skippedTokens: sum('skippedTokens') }
}

const METRICS = [
  { Name: 'refreshed', Unit: 'Count' },
  { Name: 'failed', Unit: 'Count' },
  { Name: 'needsReauth', Unit: 'Count' },
  { Name: 'skipped', Unit: 'Count' },
  { Name: 'deferred', Unit: 'Count' },
  { Name: 'durationMs', Unit: 'Milliseconds' }
] as const

/** One EMF document: `dimensions` name root members, each metric is a root member of the same name. */
function emfDocument (timestampMs: number, dimensions: Record<string, string>, values: Record<typeof METRICS[number]['Name'], number>): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [Object.keys(dimensions)], Metrics: METRICS }]
    },
    ...dimensions,
    ...values
  }
}

/**
 * The run's log line (totals, as EMF with the `service` dimension: the "no run finished in 65 minutes"
 * alarm watches it), then one EMF line per platform. `skipped` counts tokens that needed nothing.
 */
export function logRunSummary (log: RefreshLogger, summary: RunSummary): void {
  const total = emfDocument(summary.finishedAtMs, { service: SERVICE_NAME }, {
    refreshed: summary.refreshed,
    failed: summary.failed,
    needsReauth: summary.needsReauth,
    skipped: summary.skippedTokens,
    deferred: summary.deferred,
    durationMs: summary.durationMs
  })
  const line = {
    ...total,
    runId: summary.runId,
    partial: summary.partial,
    errorCodes: summary.errorCodes,
    results: summary.results,
    ...(summary.error === undefined ? {} : { runError: summary.error })
  }
  if (summary.error !== undefined || summary.failed > 0) log.warn(line, 'refresh run finished')
  else log.info(line, 'refresh run finished')
  for (const r of summary.results) {
    if (!r.configured) continue
    log.info({
      ...emfDocument(summary.finishedAtMs, { service: SERVICE_NAME, platform: r.platform }, {
        refreshed: r.refreshed, failed: r.failed, needsReauth: r.needsReauth, skipped: r.skippedTokens, deferred: r.deferred, durationMs: summary.durationMs
      }),
      runId: summary.runId
    }, 'refresh run platform metrics')
  }
}
