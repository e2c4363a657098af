// The /dev console's one page, rendered on the server from what the console read through the service's
// own routes: no script, no front-end build, every value through the `html` tag (src/dev/html.ts).
// It never holds a token, a secret or a code: the fingerprint is a hash prefix computed by the caller.
import { createHash } from 'node:crypto'
import { CONNECTION_STATUS, type ConnectionStatus } from '../routes/platforms.js'
import { html, SafeHtml } from './html.js'
import { SANDBOX_FAILURES, type SandboxFailure } from './sandbox-control.js'

export const UNKNOWN_STATUS = 'unknown'

export interface PlatformRow {
  readonly platform: string
  /** The status route's word for the connection; `unknown` when that route answered without this platform. */
  readonly status: ConnectionStatus | typeof UNKNOWN_STATUS
  readonly account?: string | undefined
  readonly expiresAt?: string | undefined
  /** Seconds until the access token expires (negative: expired), server-side at render time. */
  readonly secondsLeft?: number | undefined
  /** First 8 hex of SHA-256 of the stored access token. */
  readonly fingerprint?: string | undefined
  /** The sandbox serves this platform: its next refresh can be made to fail. */
  readonly sandboxed: boolean
  readonly pendingFailure?: SandboxFailure | undefined
}

export interface LastRunView {
  readonly runId: string
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
  readonly partial: boolean
  readonly refreshed: number
  readonly failed: number
  readonly needsReauth: number
  readonly deferred: number
  readonly skippedTokens: number
  readonly results: ReadonlyArray<{ readonly platform: string, readonly refreshed: number, readonly failed: number, readonly needsReauth: number, readonly deferred: number }>
  readonly errorCodes: Readonly<Record<string, number>>
  readonly error?: string | undefined
}

/** The last call the developer made through the provider API proxy (shown until the next one). */
export interface ApiCallView {
  readonly platform: string
  readonly method: string
  readonly path: string
  /** The proxy's answer: the provider's status, or ours (409 needs_reauth, 429, 502…). */
  readonly status: number
  /** The answer's body as text, cut to a few KB (the provider's answer: an account, never a token). */
  readonly body: string
}

interface ConsoleView {
  /** The signed-in test user (name and `sub`), or undefined. */
  readonly user?: { readonly name: string, readonly sub: string } | undefined
  /** Why sign-in is off (Cognito configured elsewhere), when it is. */
  readonly signInDisabled?: string | undefined
  readonly platforms: readonly PlatformRow[]
  /** undefined: not signed in or cron disabled; null: no run yet. */
  readonly lastRun?: LastRunView | null | undefined
  readonly cronEnabled: boolean
  readonly notices: readonly string[]
  readonly watch: boolean
  readonly apiCall?: ApiCallView | undefined
}

// One stylesheet, allowed by its hash in the page's CSP (no 'unsafe-inline').
export const CONSOLE_STYLE = 'body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}code{font-size:13px}.notice{background:#eef;padding:.4em .8em;margin:.3em 0}.needs_reauth{color:#a00;font-weight:bold}.connected{color:#070}form{display:inline;margin:0 .2em}section{margin:1.5em 0}'
// A constant of this module, so it is inserted as markup (its hash must match the bytes sent).
const STYLE = new SafeHtml(CONSOLE_STYLE)
export const CONSOLE_STYLE_HASH = `'sha256-${createHash('sha256').update(CONSOLE_STYLE).digest('base64')}'`

/** The page's own policy: nothing loads but its stylesheet; forms post to the service or a provider. */
export function consoleCsp (formTargets: readonly string[]): string {
  return [
    "default-src 'none'",
    `style-src ${CONSOLE_STYLE_HASH}`,
    // A connect form is answered by a redirect to the provider; CSP3 checks a form's redirects too.
    `form-action 'self'${formTargets.map((o) => ` ${o}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'"
  ].join('; ')
}

const button = (action: string, label: string, name: string, extra: SafeHtml | string = ''): SafeHtml =>
  html`<form method="post" action="${action}">${extra}<button type="submit" name="${name}">${label}</button></form>`

function platformRow (row: PlatformRow, signedIn: boolean): SafeHtml {
  const connectable = signedIn && row.status !== CONNECTION_STATUS.notConfigured
  const actions: SafeHtml[] = []
  if (connectable) actions.push(button(`/dev/connect/${row.platform}`, row.status === CONNECTION_STATUS.notConnected ? 'Connect' : 'Reconnect', 'connect'))
  if (signedIn && (row.status === CONNECTION_STATUS.connected || row.status === CONNECTION_STATUS.needsReauth)) {
    actions.push(button(`/dev/call-api/${row.platform}`, 'Call the API as this user', 'call-api'))
    actions.push(button(`/dev/disconnect/${row.platform}`, 'Disconnect', 'disconnect'))
  }
  if (signedIn && row.sandboxed && row.status === CONNECTION_STATUS.connected) actions.push(button(`/dev/revoke/${row.platform}`, 'Revoke in the sandbox', 'revoke'))
  if (row.sandboxed) {
    const options = SANDBOX_FAILURES.map((kind) => html`<option value="${kind}">${kind}</option>`)
    actions.push(button(`/dev/fail-next/${row.platform}`, 'Make next refresh fail', 'fail-next', html`<select name="kind">${options}</select>`))
  }
  const expiry = row.secondsLeft === undefined ? '' : row.secondsLeft > 0 ? `${row.secondsLeft} s left` : `expired ${-row.secondsLeft} s ago`
  return html`<tr data-platform="${row.platform}">
<td>${row.platform}</td>
<td class="status ${row.status}">${row.status}</td>
<td class="account">${row.account ?? ''}</td>
<td class="expiry">${row.expiresAt ?? ''}</td>
<td class="countdown">${expiry}</td>
<td><code class="fingerprint">${row.fingerprint ?? ''}</code></td>
<td class="pending">${row.pendingFailure ?? ''}</td>
<td>${actions}</td>
</tr>`
}

function apiCallSection (call: ApiCallView): SafeHtml {
  return html`<section id="api-call">
<h2>Last API call (through the proxy)</h2>
<p><code>${call.method} /api/internal/proxy/…/${call.platform}${call.path}</code> answered <strong class="api-status">${String(call.status)}</strong></p>
<pre class="api-body">${call.body}</pre>
</section>`
}

function lastRunSection (lastRun: LastRunView | null): SafeHtml {
  if (lastRun === null) return html`<p id="last-run">No refresh run yet.</p>`
  const results = lastRun.results.map((r) => html`<li>${r.platform}: refreshed ${r.refreshed}, failed ${r.failed}, needs_reauth ${r.needsReauth}, deferred ${r.deferred}</li>`)
  const codes = Object.entries(lastRun.errorCodes).map(([code, n]) => html`<li>${code}: ${n}</li>`)
  return html`<dl id="last-run">
<dt>run</dt><dd><code>${lastRun.runId}</code></dd>
<dt>started / finished</dt><dd>${lastRun.startedAt} / ${lastRun.finishedAt} (${lastRun.durationMs} ms${lastRun.partial ? ', partial' : ''})</dd>
<dt>counts</dt><dd class="counts">refreshed ${lastRun.refreshed}, failed ${lastRun.failed}, needs_reauth ${lastRun.needsReauth}, deferred ${lastRun.deferred}, skipped ${lastRun.skippedTokens}</dd>
<dt>by platform</dt><dd><ul>${results}</ul></dd>
<dt>error codes</dt><dd><ul>${codes}</ul></dd>
${lastRun.error === undefined ? '' : html`<dt>error</dt><dd>${lastRun.error}</dd>`}
</dl>`
}

export function renderConsole (view: ConsoleView): string {
  const signedIn = view.user !== undefined
  const session = view.user !== undefined
    ? html`<p id="who">Signed in as <strong>${view.user.name}</strong> (sub <code>${view.user.sub}</code>) ${button('/dev/sign-out', 'Sign out', 'sign-out')}</p>`
    : view.signInDisabled !== undefined
      ? html`<p id="who">Development sign-in is off: ${view.signInDisabled}</p>`
      : html`<form method="post" action="/dev/sign-in" id="sign-in"><label>Test user <input name="name" value="alice" pattern="[a-z0-9_-]{1,32}" required></label> <button type="submit">Sign in</button></form>`
  const watchLink = view.watch ? html`<a href="/dev">stop watching</a>` : html`<a href="/dev?watch=1">watch (reload every 2 s)</a>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>oauth-refresher: development console</title>
${view.watch ? html`<meta http-equiv="refresh" content="2">` : ''}
<style>${STYLE}</style>
</head>
<body>
<h1>oauth-refresher: development console</h1>
${view.notices.map((n) => html`<p class="notice">${n}</p>`)}
${session}
<section>
<h2>Connections</h2>
<table id="platforms">
<thead><tr><th>platform</th><th>status</th><th>account</th><th>expires at</th><th>expires in</th><th>token fingerprint</th><th>next refresh fails</th><th></th></tr></thead>
<tbody>
${view.platforms.map((row) => platformRow(row, signedIn))}
</tbody>
</table>
<p>${watchLink}</p>
</section>
${view.apiCall === undefined ? '' : apiCallSection(view.apiCall)}
<section>
<h2>Refresh</h2>
${view.cronEnabled ? button('/dev/refresh', 'Run refresh now', 'refresh') : html`<p>Cron is disabled (no CRON_SECRET).</p>`}
${view.lastRun === undefined ? '' : lastRunSection(view.lastRun)}
</section>
</body>
</html>
`.markup
}
