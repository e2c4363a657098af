import t from 'tap'
import { createSecretIndexer } from '../../src/auth/secret-matcher.js'

t.test('createSecretIndexer answers the position of the matching secret, -1 for anything else', async (t) => {
  const indexOf = createSecretIndexer(['first-key-aaaaaaaaaaaaaa', 'second-key-bbbbbbbbbbbbb'])
  t.equal(indexOf('first-key-aaaaaaaaaaaaaa'), 0)
  t.equal(indexOf('second-key-bbbbbbbbbbbbb'), 1)
  t.equal(indexOf('first-key-aaaaaaaaaaaaaa,second-key-bbbbbbbbbbbbb'), -1, 'the keys joined')
  t.equal(indexOf('second-key-bbbbbbbbbbbbX'), -1, 'one character off')
  t.equal(indexOf(''), -1)
  t.equal(indexOf('k'.repeat(100_000)), -1)
  t.equal(createSecretIndexer([])('anything'), -1)
  t.equal(createSecretIndexer(['same-key-cccccccccccccc', 'same-key-cccccccccccccc'])('same-key-cccccccccccccc'), 0, 'the first of duplicates')
})
