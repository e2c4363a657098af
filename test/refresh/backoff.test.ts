import t from 'tap'
import { BACKOFF, nextAttemptAtMs } from '../../src/refresh/backoff.js'

const NOW = 1_800_000_000_000
const DAY = 86_400_000

t.test('exponential in attempts, capped', async (t) => {
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 1, expiresAtMs: NOW + DAY }), NOW + BACKOFF.baseMs)
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 3, expiresAtMs: NOW + DAY }), NOW + 4 * BACKOFF.baseMs)
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 50, expiresAtMs: NOW + 30 * DAY }), NOW + BACKOFF.maxMs)
})

t.test('a live token keeps a try before it expires', async (t) => {
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 10, expiresAtMs: NOW + 20 * 60_000 }), NOW + 10 * 60_000)
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 10, expiresAtMs: NOW - 1 }), NOW + BACKOFF.maxMs, 'already expired: plain backoff')
})

t.test('Retry-After is honoured even past the other limits', async (t) => {
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 1, retryAfterMs: 600_000, expiresAtMs: NOW + DAY }), NOW + 600_000)
  t.equal(nextAttemptAtMs({ nowMs: NOW, attempts: 1, retryAfterMs: 1_000, expiresAtMs: NOW + DAY }), NOW + BACKOFF.baseMs, 'a shorter Retry-After does not shorten the backoff')
})
