// The alarms as code (infra/oauth-refresher-alarms.json) watch the metrics the service really emits:
// names, namespace and dimensions are read from the EMF documents logRunSummary writes, not copied.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { logRunSummary, METRICS_NAMESPACE, type RunSummary } from '../../src/refresh/summary.js'
import { ALARMS, ALARMS_TEMPLATE_PATH, alarmsTemplate, renderAlarmsTemplate, WEBHOOK_METRICS } from '../../scripts/write-alarms-template.js'

const ROOT = join(import.meta.dirname, '..', '..')

interface Emitted { readonly namespace: string, readonly metric: string, readonly dimensions: Record<string, unknown> }

/** Every (namespace, metric, dimension values) of the EMF lines one run summary produces. */
function emittedByARun (): Emitted[] {
  const lines: Array<Record<string, unknown>> = []
  const capture = (obj: unknown): void => { lines.push(obj as Record<string, unknown>) }
  const summary: RunSummary = {
    runId: 'r',
    done: true,
    partial: false,
    startedAtMs: 0,
    finishedAtMs: 1,
    durationMs: 1,
    refreshed: 1,
    failed: 1,
    needsReauth: 1,
    deferred: 0,
    skippedTokens: 0,
    results: [{ platform: 'reddit', configured: true, due: 3, refreshed: 1, failed: 1, needsReauth: 1, deferred: 0, skippedTokens: 0 }],
    errorCodes: {}
  }
  logRunSummary({ info: capture, warn: capture, error: capture, debug: capture } as never, summary)
  return lines.flatMap((line) => {
    const aws = line._aws as { CloudWatchMetrics?: Array<{ Namespace: string, Dimensions: string[][], Metrics: Array<{ Name: string }> }> } | undefined
    return (aws?.CloudWatchMetrics ?? []).flatMap((set) => set.Dimensions.flatMap((dims) => set.Metrics.map((m) => ({
      namespace: set.Namespace,
      metric: m.Name,
      dimensions: Object.fromEntries(dims.map((d) => [d, line[d]]))
    }))))
  })
}

t.test('the committed template is the generated one', async (t) => {
  t.equal(readFileSync(ALARMS_TEMPLATE_PATH, 'utf8'), renderAlarmsTemplate(), 'run `npm run infra:alarms`')
})

t.test('every alarm on the service namespace watches a metric a run emits, with the same dimensions', async (t) => {
  const emitted = emittedByARun()
  t.ok(emitted.length > 0, `the run summary emits EMF metrics (${emitted.length})`)
  const resources = alarmsTemplate().Resources as Record<string, { Properties: { Namespace: string, MetricName: string, Dimensions: Array<{ Name: string, Value: unknown }> } }>
  const webhookNames: string[] = Object.values(WEBHOOK_METRICS)
  for (const [id, { Properties: p }] of Object.entries(resources)) {
    if (p.Namespace !== METRICS_NAMESPACE || webhookNames.includes(p.MetricName)) continue
    const dimensions = Object.fromEntries(p.Dimensions.map((d) => [d.Name, d.Value]))
    t.ok(emitted.some((e) => e.namespace === p.Namespace && e.metric === p.MetricName && JSON.stringify(e.dimensions) === JSON.stringify(dimensions)),
      `${id}: ${p.Namespace}/${p.MetricName} ${JSON.stringify(dimensions)} is emitted`)
  }
  // The contract's run alarms are all there.
  for (const id of ['RefreshFailuresConsecutiveRuns', 'NoFinishedRun65Minutes', 'NeedsReauthSpike']) t.ok(id in resources, id)
})

// That the delivery worker emits them, as EMF with this dimension, is test/webhooks/delivery.test.ts's.
t.test('the webhook alarms watch the metric names the webhook worker emits', async (t) => {
  t.same(Object.values(WEBHOOK_METRICS), ['webhookDeliveryFailed', 'webhookPending'])
  const resources = alarmsTemplate().Resources as Record<string, { Properties: { MetricName: string, Dimensions: Array<{ Name: string, Value: unknown }> } }>
  for (const id of ['WebhookDeliveriesFailing', 'WebhookDeliveriesBackingUp']) {
    t.ok(Object.values(WEBHOOK_METRICS).some((m) => m === resources[id]?.Properties.MetricName), `${id} watches a webhook metric`)
    t.same(resources[id]?.Properties.Dimensions, [{ Name: 'service', Value: 'oauth-refresher' }])
  }
})

t.test('the EventBridge alarms watch the rule the script creates; every alarm notifies and has a runbook entry', async (t) => {
  const template = alarmsTemplate() as { Parameters: Record<string, { Default?: unknown }>, Resources: Record<string, { Properties: Record<string, unknown> }> }
  const script = readFileSync(join(ROOT, 'scripts', 'create-eventbridge-cron.sh'), 'utf8')
  const prefix = /--name PREFIX\s+resource name prefix \(default: ([\w.-]+)\)/.exec(script)?.[1]
  t.match(script, /rule="\$name-rule"/)
  t.equal(template.Parameters.EventBridgeRuleName?.Default, `${prefix ?? '?'}-rule`, 'the default rule name is the script\'s')
  for (const id of ['EventBridgeFailedInvocations', 'EventBridgeInvocationsSentToDlq']) {
    t.match(template.Resources[id]?.Properties, { Namespace: 'AWS/Events', Dimensions: [{ Name: 'RuleName', Value: { Ref: 'EventBridgeRuleName' } }] }, id)
  }
  const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8')
  for (const id of Object.keys(ALARMS)) {
    t.same(template.Resources[id]?.Properties.AlarmActions, [{ Ref: 'AlarmTopicArn' }], `${id} notifies`)
    t.match(runbook, new RegExp(`^### \`${id}\`\\n[\\s\\S]+?\\*\\*Do:\\*\\*`, 'm'), `the runbook says what ${id} means and what to do`)
  }
})
