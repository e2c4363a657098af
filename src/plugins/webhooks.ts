// Runs the webhook delivery worker of this instance when REAUTH_WEBHOOK_URL is set: started once the
// server is ready, stopped before the store's client closes (attempts in flight are made due again).
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createWebhookOutbox, type WebhookOutbox } from '../store/webhook-outbox.js'
import { createWebhookDelivery, type WebhookDelivery } from '../webhooks/delivery.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Null when no webhook URL is configured. */
    webhooks: { readonly outbox: WebhookOutbox, readonly delivery: WebhookDelivery } | null
  }
}

export interface WebhooksPluginOptions {
  /** Tests: a faster poll, a shorter schedule. */
  readonly pollMs?: number | undefined
  readonly schedule?: readonly number[] | undefined
  readonly timeoutMs?: number | undefined
  readonly gaugeEveryMs?: number | undefined
}

const webhooksPlugin: FastifyPluginAsync<WebhooksPluginOptions> = async (app, opts) => {
  const { url, secrets } = app.config.reauthWebhook
  if (url === undefined) {
    app.decorate('webhooks', null)
    return
  }
  const outbox = createWebhookOutbox({ doc: app.dynamo.doc, table: app.config.tokensTable, now: app.clock })
  const delivery = createWebhookDelivery({
    outbox,
    url,
    secrets,
    now: app.clock,
    log: app.log.child({ component: 'webhooks' }),
    retentionDays: app.config.run.needsReauthRetentionDays,
    pollMs: opts.pollMs,
    schedule: opts.schedule,
    timeoutMs: opts.timeoutMs,
    gaugeEveryMs: opts.gaugeEveryMs
  })
  app.decorate('webhooks', { outbox, delivery })
  app.addHook('onReady', async () => { delivery.start() })
  app.addHook('preClose', async () => { await delivery.stop() })
}

export default fp(webhooksPlugin, { name: 'webhooks', dependencies: ['config', 'store'] })
