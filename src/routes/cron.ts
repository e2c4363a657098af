// The cron routes, in one scope guarded by the cron secret: start a refresh pass under the lock and
// answer by CRON_RESPONSE_BUDGET_MS (EventBridge gives an API destination 5 s), and read the last run.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { ERROR_CODES, ErrorResponse, HttpError } from '../errors.js'
import cronGuard from '../plugins/cron-guard.js'
import { NOT_STARTED } from '../refresh/refresh-runner.js'
import { decodeRunSummary, PlatformResultSchema, publicResults, RUN_COUNTS, RUN_ERRORS, RunSummarySchema, type RunSummary } from '../refresh/summary.js'
import { isoTime } from '../iso-time.js'

// The run's answers, derived from the one run summary schema (refresh/summary.ts): the counts and the
// run's own members as stored; times as ISO strings; per platform only what the routes publish.
const PublicResults = Type.Object({ results: Type.Array(PlatformResultSchema) })
const RunResponse = Type.Composite([
  Type.Pick(RunSummarySchema, ['runId', 'done', 'durationMs', ...RUN_COUNTS, 'error']),
  PublicResults,
  Type.Object({
    ok: Type.Boolean(),
    skipped: Type.Literal(false),
    /** Present, and true, only when the run stopped before the end of its work. */
    partial: Type.Optional(Type.Literal(true))
  })
])
const SkippedResponse = Type.Object({
  ok: Type.Literal(true),
  skipped: Type.Literal(true),
  reason: Type.Literal(NOT_STARTED.locked),
  /** This call's id (it started no run); the run holding the lock is `lockedBy`. */
  runId: Type.String(),
  lockedBy: Type.Union([Type.String(), Type.Null()]),
  lockExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})
const LastRun = Type.Composite([
  Type.Omit(RunSummarySchema, ['done', 'startedAtMs', 'finishedAtMs', 'results']),
  PublicResults,
  Type.Object({ startedAt: Type.String({ format: 'date-time' }), finishedAt: Type.String({ format: 'date-time' }) })
])
const LastResponse = Type.Object({
  ok: Type.Literal(true),
  lock: Type.Object({
    held: Type.Boolean(),
    runId: Type.Union([Type.String(), Type.Null()]),
    acquiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  }),
  lastRun: Type.Union([LastRun, Type.Null()])
})

/** Time kept back from CRON_RESPONSE_BUDGET_MS for serialising and sending the answer. */
const ANSWER_MARGIN_MS = 300

// The serializer keeps only what each schema names: the summary goes in whole, with what the views add.
function runBody (summary: RunSummary): Static<typeof RunResponse> {
  const { partial, ...rest } = summary
  return { ...rest, ok: summary.error === undefined, skipped: false, results: publicResults(summary.results), ...(partial ? { partial } : {}) }
}

function lastRunBody (summary: RunSummary | null): Static<typeof LastRun> | null {
  if (summary === null) return null
  return { ...summary, results: publicResults(summary.results), startedAt: new Date(summary.startedAtMs).toISOString(), finishedAt: new Date(summary.finishedAtMs).toISOString() }
}

const cronRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(cronGuard, { secrets: app.config.cronSecrets })
  const { responseBudgetMs } = app.config.run

  app.get('/api/cron/refresh-oauth', {
    schema: {
      // Only `wait` means something; any other parameter (a secret in the URL…) is ignored.
      querystring: Type.Object({ wait: Type.Optional(Type.Boolean()) }),
      response: { 200: Type.Union([RunResponse, SkippedResponse]), 401: ErrorResponse, 503: ErrorResponse }
    }
  }, async (request) => {
    const t0 = performance.now()
    const runId = randomUUID()
    const started = await app.refreshRuns.start(runId, AbortSignal.timeout(Math.max(responseBudgetMs - 250, 2_000)))
    if (!started.started) {
      // Shutting down: this instance takes no new run; a scheduler's retry reaches another one.
      if (started.reason === NOT_STARTED.shuttingDown) throw new HttpError(503, ERROR_CODES.shuttingDown)
      request.log.info({ runId, lockedBy: started.heldBy }, 'cron call skipped: another run holds the lock')
      return { ok: true as const, skipped: true as const, reason: NOT_STARTED.locked, runId, lockedBy: started.heldBy, lockExpiresAt: isoTime(started.expiresAtMs) }
    }
    request.log.info({ runId }, 'cron call started a refresh run')
    let summary: RunSummary | undefined
    if (request.query.wait === true) {
      summary = await started.settled
    } else {
      // The answer must be out by the budget: leave it room to be serialised and sent.
      const remainingMs = Math.max(0, responseBudgetMs - ANSWER_MARGIN_MS - (performance.now() - t0))
      let timer: NodeJS.Timeout | undefined
      summary = await Promise.race([
        started.settled,
        new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), remainingMs) })
      ])
      clearTimeout(timer)
    }
    if (summary === undefined) return runBody(started.handle.progress())
    // A store that stopped answering before anything could be reported is the contract's 503.
    if (summary.error === RUN_ERRORS.storeUnavailable && summary.refreshed + summary.needsReauth === 0) {
      throw new HttpError(503, ERROR_CODES.storeUnavailable)
    }
    return runBody(summary)
  })

  app.get('/api/cron/refresh-oauth/last', {
    schema: { response: { 200: LastResponse, 401: ErrorResponse, 503: ErrorResponse } }
  }, async () => {
    const state = await app.cronLock.status()
    return {
      ok: true as const,
      lock: { held: state.held, runId: state.held ? state.runId : null, acquiredAt: state.held ? isoTime(state.acquiredAtMs) : null, expiresAt: state.held ? isoTime(state.expiresAtMs) : null },
      lastRun: lastRunBody(decodeRunSummary(state.lastRun))
    }
  })
}

export default cronRoutes
