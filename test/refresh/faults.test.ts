// Each provider answering 500, 429 + Retry-After, a timeout, HTML, broken JSON, a documented retryable
// error, invalid_grant, or a negative expires_in: the outcome is classified as the contract says, and
// once the fault clears every token that was alive is refreshed and alive again.
import t, { type Test } from 'tap'
import type { PlatformName } from '../../src/platforms/registry.js'
import { startRun } from '../../src/refresh/run.js'
import type { RunSummary } from '../../src/refresh/summary.js'
import type { TokenStore } from '../../src/store/token-store.js'
import type { Fault } from '../fakes/fake-server.js'
import { InstagramFake } from '../fakes/instagram.js'
import { ThreadsFake } from '../fakes/threads.js'
import type { OAuthFake } from '../fakes/oauth-fake.js'
import { RedditFake } from '../fakes/reddit.js'
import { TiktokFake } from '../fakes/tiktok.js'
import { refreshSetup, seedTokens, type CapturedLogger, type ManualClock } from '../helpers/refresh.js'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

type Expected = 'failed' | 'needsReauth' | 'refreshed'
const FAULTS: Array<[string, Fault, Expected]> = [
  ['HTTP 500', { kind: 'status', status: 500 }, 'failed'],
  ['429 with Retry-After', { kind: 'rate_limited', retryAfter: '900' }, 'failed'],
  ['a timeout', { kind: 'hang' }, 'failed'],
  ['an HTML page', { kind: 'html' }, 'failed'],
  ['broken JSON', { kind: 'broken_json' }, 'failed'],
  ['a documented retryable error', { kind: 'oauth_error', error: 'temporarily_unavailable', status: 503 }, 'failed'],
  ['invalid_grant', { kind: 'invalid_grant' }, 'needsReauth'],
  ['a negative expires_in', { kind: 'expires_in', value: -3600 }, 'refreshed']
]

const FAKES: Record<PlatformName, (t: Test) => Promise<OAuthFake>> = {
  reddit: async (t) => await RedditFake.start(t),
  tiktok: async (t) => await TiktokFake.start(t),
  instagram: async (t) => await InstagramFake.start(t),
  threads: async (t) => await ThreadsFake.start(t)
}

interface Harness {
  readonly store: TokenStore
  readonly clock: ManualClock
  readonly fake: OAuthFake
  readonly logs: CapturedLogger
  run (): Promise<RunSummary>
}

async function harness (t: Test, platform: PlatformName): Promise<Harness> {
  const fake = await FAKES[platform](t)
  const s = await refreshSetup(t, fake.env())
  // A short provider timeout and claim: the timeout fault must not hold the test for long.
  const platforms = s.platformsFor(fake, 500)
  return {
    store: s.store,
    clock: s.clock,
    fake,
    logs: s.log,
    run: async () => await startRun(s.options(platforms, { claimLeaseMs: 1_500 })).finished
  }
}

/** One connected account, due now (Instagram: a 60-day token 54 days old, inside its 7-day window). */
async function seedOne (h: Harness): Promise<{ userId: string, credential: string }> {
  const instagram = h.fake.platform === 'instagram'
  const [token] = await seedTokens(h.store, h.fake, 1, { expiresInMs: instagram ? 60 * DAY : 10 * MIN, now: h.clock.now })
  if (instagram) h.clock.advance(54 * DAY)
  if (token === undefined) throw new Error('not seeded')
  return { userId: token.userId, credential: token.refreshToken ?? token.accessToken }
}

for (const platform of ['reddit', 'tiktok', 'instagram'] as const) {
  t.test(platform, async (t) => {
    for (const [name, fault, expected] of FAULTS) {
      t.test(`${platform} answering ${name}`, async (t) => {
        const h = await harness(t, platform)
        const { userId } = await seedOne(h)
        const key = { userId, platform }
        const before = await h.store.get(key)
        h.fake.failNext('refresh', fault)

        const first = await h.run()
        t.match(first, { done: true, partial: false, [expected]: 1 })
        const after = await h.store.get(key)
        if (expected === 'failed') {
          t.equal(after?.status, 'connected', 'a transient failure never disconnects')
          t.equal(after?.expiresAtMs, before?.expiresAtMs, 'still due')
          t.equal(after?.attempts, 1)
          t.match(after?.lastError, /^[a-z0-9_]+$/, `lastError is a code (${after?.lastError})`)
          t.ok((after?.nextAttemptAtMs ?? 0) > h.clock.now(), 'backs off')
          if (fault.kind === 'rate_limited') t.ok((after?.nextAttemptAtMs ?? 0) >= h.clock.now() + 899_000, 'Retry-After honoured')
          t.equal(after?.claimId, undefined, 'claim released')
        } else if (expected === 'needsReauth') {
          t.equal(after?.status, 'needs_reauth')
          t.equal(after?.expiresAtMs, undefined, 'left the byExpiry index')
          t.ok((after?.ttlSec ?? 0) > h.clock.now() / 1000 + 29 * 86_400, 'purged after the retention period')
        } else {
          t.equal(after?.status, 'connected')
          t.ok((after?.expiresAtMs ?? Infinity) <= h.clock.now(), 'kept, but expiring now: stays due')
          t.match(h.logs.text, 'provider answer kept despite a defect')
        }

        // The fault clears; past any backoff (and Instagram's 24 h minimum age after the kept answer),
        // the next run brings every live token back.
        h.fake.server.clearFaults()
        h.clock.advance(25 * HOUR)
        const second = await h.run()
        const final = await h.store.get(key)
        if (expected === 'needsReauth') {
          t.equal(second.results[0]?.due, 0, 'a needs_reauth token is no longer queried')
          t.equal(final?.status, 'needs_reauth')
        } else {
          t.equal(second.refreshed, 1, 'refreshed once the fault cleared')
          t.equal(final?.status, 'connected')
          t.ok((final?.expiresAtMs ?? 0) > h.clock.now() + HOUR, 'alive again')
          t.equal(final?.attempts, 0)
          t.equal(final?.lastError, undefined)
          const secrets = h.store.openSecrets(final!)
          t.ok(h.fake.isValid(secrets.refreshToken ?? secrets.accessToken), 'the stored credential is valid at the provider')
        }
        for (const secret of [...h.fake.ledger.allSecrets(), h.fake.clientSecret]) t.notMatch(h.logs.text, secret, 'no secret in the logs')
      })
    }
  })
}
