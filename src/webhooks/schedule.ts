// When a failed delivery is tried again: the Standard Webhooks example schedule, 5 s after the first
// attempt, then growing, the last retry about 3 days after the event (at least 24 h, as the contract asks).
// @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#deliverability-and-reliability
const SECOND = 1_000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Pause after the n-th failed attempt (index n - 1); past the end, the event is given up as failed. */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR]

/** The pause before the next delivery attempt after `attempts` failed ones; undefined once they have spent the schedule. */
export function nextDeliveryDelayMs (attempts: number, schedule: readonly number[] = WEBHOOK_RETRY_SCHEDULE_MS): number | undefined {
  return attempts >= 1 ? schedule[attempts - 1] : schedule[0]
}
