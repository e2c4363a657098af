import t from 'tap'
import { appRedirect, DEFAULT_RETURN_TO, safeReturnTo } from '../../src/auth/return-to.js'

const APP = 'https://app.example.test'

t.test('app paths are kept, with their query', async (t) => {
  t.equal(safeReturnTo('/settings/integrations', APP), '/settings/integrations')
  t.equal(safeReturnTo('/dashboard?tab=social', APP), '/dashboard?tab=social')
  t.equal(safeReturnTo('/a/b%20c', APP), '/a/b%20c')
})

t.test('open-redirect attempts fall back to the default', async (t) => {
  const attempts = [
    'https://evil.example', '//evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)',
    'JavaScript:alert(1)', 'evil.example', '/%2F%2Fevil.example', '%2F%2Fevil.example', '/%5Cevil.example',
    '/%252F%252Fevil.example', '%2f%2fevil.example', '/\t/evil.example', '/%09/evil.example', '/%0d%0aSet-Cookie:x=y',
    'https:%2F%2Fevil.example', '/%E0%A4%A', '', ' /settings', 'data:text/html,x', `/${'a'.repeat(2000)}`
  ]
  for (const attempt of attempts) t.equal(safeReturnTo(attempt, APP), DEFAULT_RETURN_TO, JSON.stringify(attempt))
})

// Regression (issue 14): dot segments normalise away, and `/a/..//evil.example` became `//evil.example`.
t.test('dot segments that normalise to another host fall back to the default', async (t) => {
  const attempts = ['/a/..//evil.example', '/.//evil.example', '/a/%2e%2e//evil.example', '/a/.%2E//evil.example', '/a/b/../..//evil.example/x?y=1', '/a/..%2F%2Fevil.example']
  for (const attempt of attempts) t.equal(safeReturnTo(attempt, APP), DEFAULT_RETURN_TO, JSON.stringify(attempt))
  t.equal(safeReturnTo('/a/../settings', APP), '/settings', 'a harmless dot segment is resolved, not refused')
})

t.test('non-strings (missing, repeated parameter) give the default', async (t) => {
  t.equal(safeReturnTo(undefined, APP), DEFAULT_RETURN_TO)
  t.equal(safeReturnTo(['/a', '/b'], APP), DEFAULT_RETURN_TO)
})

t.test('the fragment is dropped so the added query stays a query', async (t) => {
  t.equal(safeReturnTo('/page#section', APP), '/page')
})

t.test('appRedirect appends with ? or & and replaces our own parameters', async (t) => {
  t.equal(appRedirect(APP, '/settings/integrations', { connected: 'reddit' }), `${APP}/settings/integrations?connected=reddit`)
  t.equal(appRedirect(APP, '/x?tab=1', { connected: 'tiktok' }), `${APP}/x?tab=1&connected=tiktok`)
  t.equal(appRedirect(APP, '/x?connected=reddit&error=old', { error: 'invalid_state', platform: 'tiktok' }), `${APP}/x?error=invalid_state&platform=tiktok`)
  t.equal(appRedirect('https://example.test/app', '/settings', { connected: 'instagram' }), 'https://example.test/app/settings?connected=instagram')
})
