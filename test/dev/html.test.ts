// The console's escaping helper: hostile strings come out inert in element content and in attributes.
import t from 'tap'
import { escapeHtml, html, SafeHtml } from '../../src/dev/html.js'

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '`$' + '{alert(1)}`',
  '&lt;already&gt; &amp;',
  '</textarea></style></title><svg/onload=alert(1)>',
  'javascript:alert(1)'
]

t.test('escapeHtml leaves none of & < > " \' ` as they were', async (t) => {
  t.equal(escapeHtml('<a href="x" title=\'y\'>&`</a>'), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;')
  for (const value of HOSTILE) {
    t.notMatch(escapeHtml(value), /[<>"'`]/, `inert: ${value}`)
    // Decoding what was escaped gives the value back: nothing was lost, only encoded.
    const decoded = escapeHtml(value).replace(/&#96;/g, '`').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&')
    t.equal(decoded, value)
  }
  t.equal(escapeHtml(undefined), '')
  t.equal(escapeHtml(42), '42')
})

t.test('the html tag escapes every interpolation, once, and joins fragments', async (t) => {
  for (const value of HOSTILE) {
    const out = html`<td title="${value}">${value}</td>`.markup
    t.equal(out, `<td title="${escapeHtml(value)}">${escapeHtml(value)}</td>`)
  }
  const inner = html`<b>${'<i>'}</b>`
  t.equal(html`<p>${inner}</p>`.markup, '<p><b>&lt;i&gt;</b></p>', 'a fragment is not escaped twice')
  t.equal(html`<ul>${['<a>', html`<li>${'&'}</li>`]}</ul>`.markup, '<ul>&lt;a&gt;<li>&amp;</li></ul>', 'arrays: strings escaped, fragments kept')
  t.equal(html`${null}${undefined}${false}${0}`.markup, '0', 'nothing for null, undefined, false')
  // A look-alike object is not markup: only SafeHtml made here passes unescaped.
  t.equal(html`${{ markup: '<x>' } as unknown as string}`.markup, '[object Object]')
  t.equal(String(new SafeHtml('<ok>')), '<ok>')
})
