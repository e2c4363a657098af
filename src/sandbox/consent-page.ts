// The sandbox's authorize step as a page: who asks for what, and two buttons. Plain server-rendered
// HTML, every value escaped, no script and no style, under its own CSP (the app's default allows no
// form at all): the form may post to this page and follow the redirects to the callback and the app.
export interface ConsentPageInput {
  readonly platform: string
  /** Where the form posts (the authorize path itself, without the query). */
  readonly action: string
  /** The authorize request's parameters, carried over as hidden fields. */
  readonly query: Readonly<Record<string, string>>
  readonly username: string
  readonly scopes: readonly string[]
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}

export function consentPage (input: ConsentPageInput): string {
  const e = escapeHtml
  const hidden = Object.entries(input.query)
    .filter(([name]) => name !== 'decision')
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`).join('\n      ')
  const scopes = input.scopes.length === 0 ? '<li>(no scopes)</li>' : input.scopes.map((s) => `<li>${e(s)}</li>`).join('')
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Sandbox ${e(input.platform)}: authorize</title></head>
  <body>
    <h1>Sandbox ${e(input.platform)}</h1>
    <p>This is the development sandbox, not ${e(input.platform)}. Signing in as <strong>${e(input.username)}</strong>.</p>
    <p>The app asks for:</p>
    <ul>${scopes}</ul>
    <form method="post" action="${e(input.action)}">
      ${hidden}
      <button name="decision" value="allow">Allow</button>
      <button name="decision" value="deny">Deny</button>
    </form>
  </body>
</html>
`
}

/** The page's CSP: nothing loads; the form posts to itself and its redirects go to `redirectOrigins`. */
export function consentPageCsp (redirectOrigins: readonly string[]): string {
  const targets = [...new Set(redirectOrigins)].join(' ')
  return `default-src 'none'; form-action 'self' ${targets}; frame-ancestors 'none'; base-uri 'none'`
}
