// The connection-event rules as data: which state change sends which event, and none without webhooks.
// That each event lands in the same transaction as its change is token-store-events.test.ts's job.
import t from 'tap'
import { createConnectionEventRules, eventTypeOf } from '../../src/store/connection-events.js'
import type { TokenRecord } from '../../src/store/token-item.js'

const NOW = 1_700_000_000_000

function record (overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    userId: 'u1',
    platform: 'reddit',
    status: 'connected',
    version: 3,
    account: { id: 'acct-1', username: 'name_1' },
    scopes: [],
    expiresAtMs: NOW + 60_000,
    issuedAtMs: NOW - 60_000,
    connectedAtMs: NOW - 60_000,
    hasRefreshToken: true,
    attempts: 0,
    sealed: { accessToken: 'sealed' },
    ...overrides
  }
}

t.test('every rule, in a table', async (t) => {
  const needsReauth = record({ status: 'needs_reauth', expiresAtMs: undefined })
  const cases = [
    [{ kind: 'connected', before: undefined, after: record() }, undefined, 'a first connection'],
    [{ kind: 'connected', before: record(), after: record() }, undefined, 'a reconnect of a working connection'],
    [{ kind: 'connected', before: needsReauth, after: record() }, 'connection.recovered', 'a needs_reauth connection connected again'],
    [{ kind: 'refresh_failed', before: record(), nowMs: NOW }, undefined, 'a failure while the access token still works'],
    [{ kind: 'refresh_failed', before: record({ expiresAtMs: NOW }), nowMs: NOW }, 'connection.refresh_failing', 'the first failure once expired'],
    [{ kind: 'refresh_failed', before: record({ expiresAtMs: NOW - 1, refreshFailingAtMs: NOW - 1 }), nowMs: NOW }, undefined, 'later failures of the same streak'],
    [{ kind: 'refresh_failed', before: record({ expiresAtMs: undefined }), nowMs: NOW }, undefined, 'no expiry known'],
    [{ kind: 'needs_reauth', before: record() }, 'connection.needs_reauth', 'a permanent failure'],
    [{ kind: 'disconnected', before: record() }, 'connection.disconnected', 'a disconnect']
  ] as const
  for (const [change, expected, what] of cases) t.equal(eventTypeOf(change), expected, what)
})

t.test('the event names the connection it is about, with its reason; none while webhooks are off', async (t) => {
  let clock = NOW
  const rules = createConnectionEventRules({ table: 'tbl', enabled: true, now: () => clock })
  const before = record({ status: 'needs_reauth', account: { id: 'old-acct' } })
  const after = record({ account: { id: 'new-acct', username: 'new_name' } })
  const recovered = rules.eventFor({ kind: 'connected', before, after })
  t.match(recovered, { type: 'connection.recovered', userId: 'u1', platform: 'reddit', account: { id: 'new-acct', username: 'new_name' }, occurredAtMs: NOW })
  t.notOk(recovered !== undefined && 'reason' in recovered, 'no reason unless one is given')
  t.match(recovered?.id, /^msg_[0-9a-z]{9}[0-9a-f]{20}$/)

  clock += 5
  const failing = rules.eventFor({ kind: 'needs_reauth', before: record() }, 'invalid_grant')
  t.match(failing, { type: 'connection.needs_reauth', account: { id: 'acct-1' }, reason: 'invalid_grant', occurredAtMs: NOW + 5 })
  t.not(failing?.id, recovered?.id, 'each event its own id')

  const off = createConnectionEventRules({ table: 'tbl', enabled: false, now: () => clock })
  t.equal(off.enabled, false)
  t.equal(off.eventFor({ kind: 'needs_reauth', before: record() }, 'invalid_grant'), undefined)
  t.equal(off.eventFor({ kind: 'disconnected', before: record() }), undefined)
})

t.test('withEvent: the change first, the event put second, with a request token', async (t) => {
  const rules = createConnectionEventRules({ table: 'tbl', enabled: true, now: () => NOW })
  const event = rules.eventFor({ kind: 'disconnected', before: record() })
  if (event === undefined) throw new Error('no event')
  const change = { TableName: 'tbl', Key: { userId: 'u1', platform: 'reddit' }, ConditionExpression: '#version = :readVersion' }
  const transaction = rules.withEvent(change, event)
  t.same(transaction.TransactItems?.[0], { Delete: change })
  t.match(transaction.TransactItems?.[1], { Put: { TableName: 'tbl', Item: { eventId: event.id, eventType: 'connection.disconnected' } } })
  t.type(transaction.ClientRequestToken, 'string')
  t.not(rules.withEvent(change, event).ClientRequestToken, transaction.ClientRequestToken, 'a new token per state change')
})
