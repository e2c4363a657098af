// The delivery worker every instance runs: polls the outbox (a Query of the pending partition), claims
// each due event under a lease (one sender at a time across instances), POSTs it signed, and settles
// the attempt: delivered (deleted) on a 2xx, else retried on the schedule, else given up as failed.
// At-least-once: a sender that dies mid-attempt leaves the lease to run out, and another sends again.
// Runs beside requests and refresh runs, never in their way: nothing awaits it but shutdown.
import { randomUUID } from 'node:crypto'
import type { RefreshLogger } from '../refresh/refresh-one.js'
import type { StoredEvent } from '../store/event-item.js'
import type { WebhookOutbox } from '../store/webhook-outbox.js'
import { untraced, withSpan, type SpanHandle } from '../telemetry/tracing.js'
import { WEBHOOK_METRICS, webhookMetric } from './metrics.js'
import { webhookBody } from './payload.js'
import { nextDeliveryDelayMs, WEBHOOK_RETRY_SCHEDULE_MS } from './schedule.js'
import { webhookHeaders } from './signature.js'

const DELIVERY_ERRORS = {
  timeout: 'timeout',
  network: 'network_error',
  shutdown: 'shutdown'
} as const

export interface WebhookDeliveryOptions {
  readonly outbox: WebhookOutbox
  readonly url: string
  readonly secrets: readonly string[]
  readonly now: () => number
  readonly log: RefreshLogger
  /** Days a given-up event is kept in the failed partition (then DynamoDB's TTL purges it). */
  readonly retentionDays: number
  readonly schedule?: readonly number[] | undefined
  /** How often the outbox is polled. */
  readonly pollMs?: number | undefined
  /** One attempt's limit, headers and body included. */
  readonly timeoutMs?: number | undefined
  readonly maxInFlight?: number | undefined
  readonly fetch?: typeof fetch | undefined
  /** How often the backlog gauge (`webhookPending`) is read and logged. */
  readonly gaugeEveryMs?: number | undefined
}

export interface WebhookDelivery {
  start (): void
  /** Stops polling, aborts attempts in flight (each is made due again at once) and waits for them. */
  stop (): Promise<void>
  /** One poll: claims and starts the due events; answers how many it started. */
  tick (): Promise<number>
  /** Resolves when no attempt of this instance is in flight. */
  idle (): Promise<void>
}

// The gauge counts at most this many pending events: above the alarm's threshold, the exact figure
// is `ops webhooks`' job, not a metric's.
const PENDING_GAUGE_CAP = 10_000

const USER_AGENT = 'oauth-refresher-webhooks/0.1 (+https://www.standardwebhooks.com)'

export function createWebhookDelivery (opts: WebhookDeliveryOptions): WebhookDelivery {
  const { outbox, now, log } = opts
  const schedule = opts.schedule ?? WEBHOOK_RETRY_SCHEDULE_MS
  const pollMs = opts.pollMs ?? 1_000
  const timeoutMs = opts.timeoutMs ?? 10_000
  // A lease outlives the attempt's timeout: a live sender always settles its own attempt.
  const leaseMs = timeoutMs + 5_000
  const maxInFlight = opts.maxInFlight ?? 10
  const send = opts.fetch ?? fetch
  const inFlight = new Map<string, Promise<void>>()
  const stopping = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let ticking: Promise<number> | undefined
  let polling = false
  /** The last poll found as many due events as it asked for: more are probably due. */
  let backlog = false
  const gaugeEveryMs = opts.gaugeEveryMs ?? 60_000
  let nextGaugeAtMs = 0

  /** One POST: a 2xx is delivered; a 3xx is a failure (redirects are never followed). */
  async function post (event: StoredEvent): Promise<string | undefined> {
    const body = webhookBody(event)
    const headers = webhookHeaders({ id: event.id, timestampSec: Math.floor(now() / 1000), body, secrets: opts.secrets })
    try {
      const res = await send(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal])
      })
      // The receiver's body is never read into anything: only its status counts.
      await res.body?.cancel().catch(() => {})
      if (res.status >= 200 && res.status < 300) return undefined
      return res.status >= 300 && res.status < 400 ? `redirect_${res.status}` : `http_${res.status}`
    } catch (err) {
      if (stopping.signal.aborted) return DELIVERY_ERRORS.shutdown
      return err instanceof Error && err.name === 'TimeoutError' ? DELIVERY_ERRORS.timeout : DELIVERY_ERRORS.network
    }
  }

  async function attempt (event: StoredEvent, leaseId: string, span: SpanHandle): Promise<void> {
    const where = { eventId: event.id, type: event.type, platform: event.platform, userId: event.userId, attempt: event.attempts }
    const errorCode = await post(event)
    span.setAttributes({ 'webhook.outcome': errorCode === undefined ? 'delivered' : 'failed', 'webhook.error_code': errorCode })
    if (errorCode === undefined) {
      await outbox.delivered(event, leaseId)
      log.info(where, 'webhook delivered')
      return
    }
    if (errorCode === DELIVERY_ERRORS.shutdown) {
      // Not the receiver's failure: due again at once, for whichever instance is still running (it
      // still counts as an attempt: the receiver may have had it).
      await outbox.retryLater(event, leaseId, now(), errorCode)
      return
    }
    const delayMs = nextDeliveryDelayMs(event.attempts, schedule)
    // Each failed attempt is one `webhookDeliveryFailed` (the WebhookDeliveriesFailing alarm sums them).
    const failed = webhookMetric(now(), WEBHOOK_METRICS.deliveryFailed, 1)
    if (delayMs === undefined) {
      await outbox.giveUp(event, leaseId, errorCode, opts.retentionDays)
      log.error({ ...where, errorCode, ...failed }, 'webhook delivery given up: the retry schedule is spent')
      return
    }
    await outbox.retryLater(event, leaseId, now() + delayMs, errorCode)
    log.warn({ ...where, errorCode, retryInMs: delayMs, ...failed }, 'webhook delivery failed; it will be retried')
  }

  /** The backlog gauge, at most once per `gaugeEveryMs`: every instance logs it, the alarm takes the Maximum. */
  async function logPendingGauge (): Promise<void> {
    const nowMs = now()
    if (nowMs < nextGaugeAtMs) return
    nextGaugeAtMs = nowMs + gaugeEveryMs
    const pending = await outbox.count('pending', PENDING_GAUGE_CAP)
    log.info({ ...webhookMetric(nowMs, WEBHOOK_METRICS.pending, pending) }, 'webhook backlog')
  }

  async function tick (): Promise<number> {
    if (stopping.signal.aborted) return 0
    await logPendingGauge()
    const room = maxInFlight - inFlight.size
    if (room <= 0) return 0
    let started = 0
    const limit = room + inFlight.size
    const due = await outbox.listDue(limit)
    for (const event of due) {
      if (stopping.signal.aborted || inFlight.size >= maxInFlight) break
      if (inFlight.has(event.id)) continue
      const leaseId = randomUUID()
      const claimed = await outbox.claim(event, leaseId, leaseMs)
      if (claimed === undefined) continue
      started++
      // A span per delivery attempt: the event's type, id and attempt, the outcome; never the URL or the body.
      const attributes = { 'webhook.event_type': claimed.type, 'webhook.event_id': claimed.id, 'webhook.attempt': claimed.attempts, 'webhook.platform': claimed.platform }
      const running = withSpan('webhook.delivery', attributes, async (span) => { await attempt(claimed, leaseId, span) }, { root: true })
        .catch((err: unknown) => {
          // The store failed while settling: the lease runs out and the event is sent again.
          log.warn({ eventId: event.id, errorName: err instanceof Error ? err.name : typeof err }, 'webhook attempt not settled; its lease will run out')
        })
        .finally(() => {
          inFlight.delete(event.id)
          if (backlog && !polling && timer !== undefined) schedulePoll(0)
        })
      inFlight.set(event.id, running)
    }
    // A full page of due events: there are probably more (attempts that settle meanwhile free slots
    // this loop fills, so the count started says nothing).
    backlog = started > 0 && due.length === limit
    return started
  }

  /**
   * The next poll in `delayMs`. A poll that filled every free slot leaves a backlog behind it: then
   * each settled attempt polls again at once instead of waiting out the interval (one instance
   * drained 10 events a second, whatever the receiver could take: bench webhook_drain_per_s).
   */
  function schedulePoll (delayMs = pollMs): void {
    if (stopping.signal.aborted) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      polling = true
      // The poll itself is not traced (a trace a second per instance, of an empty Query most of the
      // time); each delivery it starts is a trace of its own.
      ticking = untraced(tick).catch((err: unknown) => {
        log.warn({ errorName: err instanceof Error ? err.name : typeof err }, 'webhook outbox poll failed')
        backlog = false
        return 0
      })
      // Attempts that settled while this poll ran could not start one: with a backlog and a free
      // slot, the next poll is now.
      ticking.finally(() => {
        polling = false
        schedulePoll(backlog && inFlight.size < maxInFlight ? 0 : pollMs)
      }).catch(() => {})
    }, delayMs)
    timer.unref()
  }

  return {
    start: schedulePoll,
    tick,
    async idle () {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()])
    },
    async stop () {
      stopping.abort()
      clearTimeout(timer)
      await ticking
      await Promise.allSettled([...inFlight.values()])
    }
  }
}
