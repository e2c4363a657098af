// Writes infra/oauth-refresher-alarms.json (CloudFormation: CloudWatch alarms) from the metric names the
// service emits (src/refresh/summary.ts), as the table template is written from src/store/table.ts.
// `npm run infra:alarms` rewrites it; `-- --check` only says whether it is current. The runbook
// (docs/runbook.md, "Alarms") says what each alarm means and what to do.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { METRICS_NAMESPACE, SERVICE_NAME } from '../src/refresh/summary.js'
import { WEBHOOK_METRICS } from '../src/webhooks/metrics.js'

export { WEBHOOK_METRICS }

export const ALARMS_TEMPLATE_PATH = fileURLToPath(new URL('../infra/oauth-refresher-alarms.json', import.meta.url))

const SERVICE_DIMENSIONS = [{ Name: 'service', Value: SERVICE_NAME }]

interface Alarm {
  readonly description: string
  readonly namespace: string
  readonly metric: string
  readonly dimensions: ReadonlyArray<{ Name: string, Value: unknown }>
  readonly statistic: 'Sum' | 'Maximum' | 'SampleCount'
  readonly periodSec: number
  readonly evaluationPeriods: number
  readonly datapointsToAlarm: number
  readonly threshold: unknown
  readonly comparison: 'GreaterThanThreshold' | 'LessThanThreshold'
  readonly missing: 'breaching' | 'notBreaching'
}

/** The alarms of the contract (design "Observability"), by logical id. */
export const ALARMS: Readonly<Record<string, Alarm>> = {
  RefreshFailuresConsecutiveRuns: {
    description: 'Refresh failures in two consecutive 30-minute windows (two runs in a row failed tokens). Runbook: "Alarms".',
    namespace: METRICS_NAMESPACE,
    metric: 'failed',
    dimensions: SERVICE_DIMENSIONS,
    statistic: 'Sum',
    periodSec: 1800,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching'
  },
  NoFinishedRun65Minutes: {
    description: 'No refresh run finished in 65 minutes (13 five-minute windows without a run summary). Runbook: "Alarms".',
    namespace: METRICS_NAMESPACE,
    metric: 'durationMs',
    dimensions: SERVICE_DIMENSIONS,
    statistic: 'SampleCount',
    periodSec: 300,
    evaluationPeriods: 13,
    datapointsToAlarm: 13,
    threshold: 1,
    comparison: 'LessThanThreshold',
    missing: 'breaching'
  },
  NeedsReauthSpike: {
    description: 'More connections became needs_reauth in one hour than NeedsReauthSpikeThreshold. Runbook: "Alarms".',
    namespace: METRICS_NAMESPACE,
    metric: 'needsReauth',
    dimensions: SERVICE_DIMENSIONS,
    statistic: 'Sum',
    periodSec: 3600,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: { Ref: 'NeedsReauthSpikeThreshold' },
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching'
  },
  WebhookDeliveriesFailing: {
    description: 'Webhook deliveries failed in two of three 15-minute windows. Runbook: "Alarms".',
    namespace: METRICS_NAMESPACE,
    metric: WEBHOOK_METRICS.deliveryFailed,
    dimensions: SERVICE_DIMENSIONS,
    statistic: 'Sum',
    periodSec: 900,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching'
  },
  WebhookDeliveriesBackingUp: {
    description: 'More webhook deliveries waiting than WebhookPendingThreshold for 30 minutes. Runbook: "Alarms".',
    namespace: METRICS_NAMESPACE,
    metric: WEBHOOK_METRICS.pending,
    dimensions: SERVICE_DIMENSIONS,
    statistic: 'Maximum',
    periodSec: 300,
    evaluationPeriods: 6,
    datapointsToAlarm: 6,
    threshold: { Ref: 'WebhookPendingThreshold' },
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching'
  },
  EventBridgeFailedInvocations: {
    description: 'The EventBridge rule could not deliver the cron call to its API destination. Runbook: "Alarms".',
    namespace: 'AWS/Events',
    metric: 'FailedInvocations',
    dimensions: [{ Name: 'RuleName', Value: { Ref: 'EventBridgeRuleName' } }],
    statistic: 'Sum',
    periodSec: 1800,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching'
  },
  EventBridgeInvocationsSentToDlq: {
    description: 'The EventBridge target gave up on cron calls and sent them to its dead-letter queue. Runbook: "Alarms".',
    namespace: 'AWS/Events',
    metric: 'InvocationsSentToDlq',
    dimensions: [{ Name: 'RuleName', Value: { Ref: 'EventBridgeRuleName' } }],
    statistic: 'Sum',
    periodSec: 1800,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching'
  }
}

export function alarmsTemplate (): Record<string, unknown> {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `oauth-refresher CloudWatch alarms on the EMF metrics of namespace ${METRICS_NAMESPACE} (service=${SERVICE_NAME}: failed, needsReauth, durationMs; ${WEBHOOK_METRICS.deliveryFailed}, ${WEBHOOK_METRICS.pending}) and on the EventBridge rule. Generated by \`npm run infra:alarms\` from scripts/write-alarms-template.ts; do not edit by hand.`,
    Parameters: {
      AlarmTopicArn: { Type: 'String', Description: 'SNS topic that is notified when an alarm fires and when it clears' },
      EventBridgeRuleName: { Type: 'String', Default: 'oauth-refresher-refresh-rule', Description: 'the rule scripts/create-eventbridge-cron.sh made (<prefix>-rule)' },
      NeedsReauthSpikeThreshold: { Type: 'Number', Default: 20, Description: 'needs_reauth transitions in one hour above which the spike alarm fires' },
      WebhookPendingThreshold: { Type: 'Number', Default: 100, Description: 'webhook deliveries waiting above which the backlog alarm fires' }
    },
    Resources: Object.fromEntries(Object.entries(ALARMS).map(([id, a]) => [id, {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: { 'Fn::Sub': `\${AWS::StackName}-${id}` },
        AlarmDescription: a.description,
        Namespace: a.namespace,
        MetricName: a.metric,
        Dimensions: a.dimensions,
        Statistic: a.statistic,
        Period: a.periodSec,
        EvaluationPeriods: a.evaluationPeriods,
        DatapointsToAlarm: a.datapointsToAlarm,
        Threshold: a.threshold,
        ComparisonOperator: a.comparison,
        TreatMissingData: a.missing,
        AlarmActions: [{ Ref: 'AlarmTopicArn' }],
        OKActions: [{ Ref: 'AlarmTopicArn' }]
      }
    }]))
  }
}

export function renderAlarmsTemplate (): string {
  return `${JSON.stringify(alarmsTemplate(), null, 2)}\n`
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const wanted = renderAlarmsTemplate()
  if (process.argv.includes('--check')) {
    let current = ''
    try { current = readFileSync(ALARMS_TEMPLATE_PATH, 'utf8') } catch {}
    if (current !== wanted) {
      process.stderr.write(`${ALARMS_TEMPLATE_PATH} is out of date: run \`npm run infra:alarms\`\n`)
      process.exit(1)
    }
    process.stdout.write(`${ALARMS_TEMPLATE_PATH} is current\n`)
  } else {
    writeFileSync(ALARMS_TEMPLATE_PATH, wanted)
    process.stdout.write(`wrote ${ALARMS_TEMPLATE_PATH}\n`)
  }
}
