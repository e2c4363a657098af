// The webhook worker's CloudWatch metrics, as Embedded Metric Format log lines under the run metrics'
// namespace and `service` dimension, so the alarms (infra/oauth-refresher-alarms.json) see them
// without an agent or a PutMetricData permission.
// @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
import { METRICS_NAMESPACE, SERVICE_NAME } from '../refresh/summary.js'

/** `webhookDeliveryFailed`: failed attempts (Count, summed); `webhookPending`: events waiting (a gauge). */
export const WEBHOOK_METRICS = { deliveryFailed: 'webhookDeliveryFailed', pending: 'webhookPending' } as const
export type WebhookMetric = typeof WEBHOOK_METRICS[keyof typeof WEBHOOK_METRICS]

/** The EMF members of one webhook metric value, to spread into a log line. */
export function webhookMetric (timestampMs: number, metric: WebhookMetric, value: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: metric, Unit: 'Count' }] }]
    },
    service: SERVICE_NAME,
    [metric]: value
  }
}
