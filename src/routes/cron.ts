// The cron routes, in one scope guarded by the cron secret: start a refresh pass under the lock and
// answer by CRON_RESPONSE_BUDGET_MS (EventBridge gives an API destination 5 s), and read the last run.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { ERROR_CODES, ErrorResponse, HttpError } from '../errors.js'
import cronGuard from '../plugins/cron-guard.js'
import { NOT_STARTED } from '../refresh/refresh-runner.js'
import { decodeRunSummary, PlatformResultSchema, RUN_ERRORS, RunCountsSchema, publicResults, type RunSummary } from '../refresh/summary.js'
import { isoTime } from '../iso-time.js'

const Count = Type.Integer({ minimum: 0 })
const RunResponse = Type.Object({
  ok: Type.Boolean(),
  runId: Type.String(),
  done: Type.Boolean(),
  skipped: Type.Literal(false),
  ...RunCountsSchema,
  results: Type.Array(PlatformResultSchema),
  durationMs: Count,
  partial: Type.Optional(Type.Boolean()),
  error: Type.Optional(Type.String())
})
const SkippedResponse = Type.Object({
  ok: Type.Literal(true),
  skipped: Type.Literal(true),
  reason: Type.Literal(NOT_STARTED.locked),
  /** This call's id (it started no run); the run holding the lock is `lockedBy`. */
  runId: Type.String(),
  lockedBy: Type.Union([Type.String(), Type.Null()]),
  lockExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})
const LastRun = Type.Object({
  runId: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  durationMs: Count,
  partial: Type.Boolean(),
  ...RunCountsSchema,
  results: Type.Array(PlatformResultSchema),
  errorCodes: Type.Record(Type.String(), Count),
  error: Type.Optional(Type.String())
})
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

function runBody (summary: RunSummary): Static<typeof RunResponse> {
  return {
    ok: summary.error === undefined,
    runId: summary.runId,
    done: summary.done,
    skipped: false,
    refreshed: summary.refreshed,
    failed: summary.failed,
    needsReauth: summary.needsReauth,
    deferred: summary.deferred,
    skippedTokens: summary.skippedTokens,
    results: publicResults(summary.results),
    durationMs: summary.durationMs,
    ...(summary.partial ? { partial: true } : {}),
    ...(summary.error === undefined ? {} : { error: summary.error })
  }
}

function lastRunBody (s: RunSummary | null): Static<typeof LastRun> | null {
  if (s === null) return null
  return {
    runId: s.runId,
    startedAt: new Date(s.startedAtMs).toISOString(),
    finishedAt: new Date(s.finishedAtMs).toISOString(),
    durationMs: s.durationMs,
    partial: s.partial,
    refreshed: s.refreshed,
    failed: s.failed,
    needsReauth: s.needsReauth,
    deferred: s.deferred,
    skippedTokens: s.skippedTokens,
    results: publicResults(s.results),
    errorCodes: s.errorCodes,
    ...(s.error === undefined ? {} : { error: s.error })
  }
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
