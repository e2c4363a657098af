// A run's counts: the live tally, the summary written to the lock item and answered by the routes,
// and the run's one log line, which is also a CloudWatch Embedded Metric Format document.
// @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
import type { RefreshLogger, TokenOutcome } from './refresh-one.js'

export const METRICS_NAMESPACE = 'OAuthRefresher'
export const SERVICE_NAME = 'oauth-refresher'

export interface PlatformTally {
  platform: string
  configured: boolean
  /** Keys the run read from the index for this platform. */
  due: number
  refreshed: number
  failed: number
  needsReauth: number
  /** Due, but left for a later run: budget, backoff, rate cap, too young to refresh. */
  deferred: number
  /** Read from the index but needing nothing: another writer made it fresh, holds it, or won a race. */
  skippedTokens: number
}

export interface RunSummary {
  readonly runId: string
  readonly done: boolean
  readonly partial: boolean
  readonly startedAtMs: number
  readonly finishedAtMs: number
  readonly durationMs: number
  readonly refreshed: number
  readonly failed: number
  readonly needsReauth: number
  readonly deferred: number
  readonly skippedTokens: number
  readonly results: readonly PlatformTally[]
  /** Our error codes seen in the run, with how often (never a provider body). */
  readonly errorCodes: Readonly<Record<string, number>>
  /** Why the run stopped early, when it did: `store_unavailable`, `shutdown`, `internal_error`. */
  readonly error?: string | undefined
}

export function emptyTally (platform: string, configured: boolean): PlatformTally {
  return { platform, configured, due: 0, refreshed: 0, failed: 0, needsReauth: 0, deferred: 0, skippedTokens: 0 }
}

const COUNTER_OF: Record<TokenOutcome, keyof Omit<PlatformTally, 'platform' | 'configured' | 'due'>> = {
  refreshed: 'refreshed',
  failed: 'failed',
  needsReauth: 'needsReauth',
  deferred: 'deferred',
  skipped: 'skippedTokens'
}

export function countOutcome (tally: PlatformTally, outcome: TokenOutcome): void {
  tally[COUNTER_OF[outcome]] += 1
}

export function totals (results: readonly PlatformTally[]): Pick<RunSummary, 'refreshed' | 'failed' | 'needsReauth' | 'deferred' | 'skippedTokens'> {
  const sum = (k: 'refreshed' | 'failed' | 'needsReauth' | 'deferred' | 'skippedTokens'): number => results.reduce((n, r) => n + r[k], 0)
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
export function emfDocument (timestampMs: number, dimensions: Record<string, string>, values: Record<typeof METRICS[number]['Name'], number>): Record<string, unknown> {
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
