import t from 'tap'
import { looksLikeJwt, tokenCandidates } from '../../src/identity/token-sources.js'

const CLIENT = 'client123'
const P = `CognitoIdentityServiceProvider.${CLIENT}`

t.test('a Bearer header is the only candidate', async (t) => {
  t.same(tokenCandidates('Bearer a.b.c', { [`${P}.u.accessToken`]: 'x.y.z' }, CLIENT), [{ jwt: 'a.b.c', source: 'authorization' }])
  t.same(tokenCandidates('bearer a.b.c', {}, CLIENT), [{ jwt: 'a.b.c', source: 'authorization' }])
  t.same(tokenCandidates('Basic dXNlcjpwYXNz', { [`${P}.u.accessToken`]: 'x.y.z' }, CLIENT), [])
  t.same(tokenCandidates('Bearer', {}, CLIENT), [])
})

t.test('Amplify cookies of LastAuthUser, access token first', async (t) => {
  const cookies = {
    [`${P}.LastAuthUser`]: 'me@example.com',
    [`${P}.me%40example.com.idToken`]: 'id.id.id',
    [`${P}.me%40example.com.accessToken`]: 'ac.ac.ac',
    [`${P}.me%40example.com.refreshToken`]: 'rt',
    [`${P}.other.accessToken`]: 'other.other.other',
    'CognitoIdentityServiceProvider.another-client.me%40example.com.accessToken': 'foreign.foreign.foreign'
  }
  t.same(tokenCandidates(undefined, cookies, CLIENT), [
    { jwt: 'ac.ac.ac', expectedUse: 'access', source: 'cookie' },
    { jwt: 'id.id.id', expectedUse: 'id', source: 'cookie' }
  ])
})

t.test('without LastAuthUser only one user\'s cookies count', async (t) => {
  t.same(tokenCandidates(undefined, { [`${P}.u1.idToken`]: 'a.b.c' }, CLIENT), [{ jwt: 'a.b.c', expectedUse: 'id', source: 'cookie' }])
  t.same(tokenCandidates(undefined, { [`${P}.u1.accessToken`]: 'a.b.c', [`${P}.u2.accessToken`]: 'd.e.f' }, CLIENT), [])
})

t.test('no cookies, no candidates', async (t) => {
  t.same(tokenCandidates(undefined, {}, CLIENT), [])
})

t.test('looksLikeJwt', async (t) => {
  t.ok(looksLikeJwt('aa.bb.cc'))
  t.ok(looksLikeJwt('aa.bb.'))
  t.notOk(looksLikeJwt('aa.bb'))
  t.notOk(looksLikeJwt('a a.b.c'))
  t.notOk(looksLikeJwt(`${'a'.repeat(20_000)}.b.c`))
})
