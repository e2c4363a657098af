// Epoch milliseconds as the contract writes times (ISO 8601, UTC): one formatter for the routes and the
// ops CLI. A missing time stays missing (null or undefined, as it came), for the caller to render.

export function isoTime<T extends null | undefined> (ms: number | T): string | T {
  return typeof ms === 'number' ? new Date(ms).toISOString() : ms
}
