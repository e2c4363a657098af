// The run summary's one codec: the summary the runner writes to the lock item comes back as it was;
// an older item takes the defaults of members added since; anything else is no summary at all.
import t from 'tap'
import { decodeRunSummary, emptyTally, publicResults, type RunSummary } from '../../src/refresh/summary.js'

const summary: RunSummary = {
  runId: 'run-1',
  done: true,
  partial: false,
  startedAtMs: 1_000,
  finishedAtMs: 2_000,
  durationMs: 1_000,
  refreshed: 2,
  failed: 0,
  needsReauth: 1,
  deferred: 0,
  skippedTokens: 3,
  results: [{ ...emptyTally('reddit', true), due: 6, refreshed: 2, needsReauth: 1, skippedTokens: 3 }],
  errorCodes: { invalid_grant: 1 }
}

t.test('the lock item stores the summary as it is: decoding a copy gives it back', async (t) => {
  t.same(decodeRunSummary(structuredClone(summary)), summary)
  t.same(decodeRunSummary(structuredClone({ ...summary, error: 'shutdown' }))?.error, 'shutdown')
})

t.test('an older item takes the defaults of members added since', async (t) => {
  const { skippedTokens: _, errorCodes: __, ...older } = summary
  const decoded = decodeRunSummary({ ...older, results: [{ platform: 'reddit', configured: true, due: 1, refreshed: 1, failed: 0, needsReauth: 0, deferred: 0 }] })
  t.equal(decoded?.skippedTokens, 0)
  t.same(decoded?.errorCodes, {})
  t.equal(decoded?.results[0]?.skippedTokens, 0)
})

t.test('anything else is no summary', async (t) => {
  for (const junk of [null, undefined, 'run-1', 42, [], {}, { runId: 7, finishedAtMs: 1 }, { ...summary, error: 'a provider body' }, { ...summary, refreshed: -1 }]) {
    t.equal(decodeRunSummary(junk), null, JSON.stringify(junk) ?? 'undefined')
  }
})

t.test('the routes answer the platform counts without the tokens that needed nothing', async (t) => {
  t.same(publicResults(summary.results), [{ platform: 'reddit', configured: true, due: 6, refreshed: 2, failed: 0, needsReauth: 1, deferred: 0 }])
})
