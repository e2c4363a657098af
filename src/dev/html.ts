// The console's one escaping rule: every value interpolated into its HTML goes through escapeHtml, and
// the `html` tag applies it to every `${…}` of a template. Only what another `html` template produced
// (a SafeHtml) is inserted as it is, so a fragment is escaped exactly once, and a plain string never
// reaches the page unescaped.
const REPLACEMENTS: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;'
}

/** Text safe in element content and in a quoted attribute value. */
export function escapeHtml (value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => REPLACEMENTS[c] ?? c)
}

/** Markup built by `html` (already escaped), as opposed to a string from anywhere else. */
export class SafeHtml {
  constructor (readonly markup: string) {}
  toString (): string { return this.markup }
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[]

function render (part: Part): string {
  if (part instanceof SafeHtml) return part.markup
  if (Array.isArray(part)) return part.map(render).join('')
  if (part === null || part === undefined || part === false) return ''
  return escapeHtml(part)
}

/** Tagged template: `html\`<td>${name}</td>\`` escapes `name`; arrays of fragments are joined. */
export function html (strings: TemplateStringsArray, ...values: readonly Part[]): SafeHtml {
  let out = strings[0] ?? ''
  values.forEach((value, i) => { out += render(value) + (strings[i + 1] ?? '') })
  return new SafeHtml(out)
}
