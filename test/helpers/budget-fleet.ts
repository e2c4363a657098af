// Two app instances on one table and one virtual clock, in front of a fake Reddit that stamps each
// refresh it receives with that clock: the budget tests' fleet.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { RedditFake } from '../fakes/reddit.js'
import { buildApp, dynamoEndpoint } from '../helper.js'
import { refreshSetup, seedTokens, type RefreshSetup } from './refresh.js'

/** The most stamps inside any 60 s window. */
export function peakPerMinute (times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let peak = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? 0) <= (sorted[i] ?? 0) - 60_000) j++
    peak = Math.max(peak, i - j + 1)
  }
  return peak
}

/** `tokens` Reddit connections, all expired; REDDIT_REQUESTS_PER_MINUTE = `cap`. */
export async function fleet (t: Test, tokens: number, cap = 20): Promise<{ s: RefreshSetup, reddit: RedditFake, apps: FastifyInstance[], calls: number[] }> {
  const reddit = await RedditFake.start(t)
  const s = await refreshSetup(t, { ...reddit.env(), REDDIT_REQUESTS_PER_MINUTE: String(cap), PROVIDER_BUDGET_WAIT_MS: '0', REFRESH_RUN_BUDGET_MS: '3000' })
  await seedTokens(s.store, reddit, tokens, { expiresInMs: -60_000, now: s.clock.now })
  // Each refresh the provider receives, stamped with the fleet's clock.
  const calls: number[] = []
  const before = reddit.server.onRequest
  reddit.server.onRequest = (request) => {
    if (request.endpoint === 'refresh') calls.push(s.clock.now())
    before?.(request)
  }
  // DynamoDB Local on a loaded machine can take seconds to answer: a patient client, so a slow answer
  // is not taken for a store that is down (the production timeouts are tested elsewhere).
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint(), requestTimeoutMs: 20_000 })
  t.teardown(() => { dynamo.client.destroy() })
  const apps = await Promise.all([0, 1].map(async () => await buildApp(t, { config: s.config, dynamo, clock: s.clock.now })))
  return { s, reddit, apps, calls }
}
