// TOKEN_ENCRYPTION_KEY's kms entries, TOKEN_KMS_KEY_ID and KMS_ENDPOINT in the configuration: parsed,
// refused with the variable named and no value quoted, the KMS region, and the production warning
// for plain keys. A cipher built from an entry still wrapped is refused.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { createCipher, generateEncryptionKey, isWrappedKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { testEnv } from '../helper.js'

const BLOB = randomBytes(184).toString('base64')
const PROD = { NODE_ENV: 'production', COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client' }
const KEY_ARN = 'arn:aws:kms:eu-west-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'

t.test('plain and wrapped entries mix, in order', async (t) => {
  const plain = generateEncryptionKey('old')
  const config = loadConfig(testEnv({ TOKEN_ENCRYPTION_KEY: `new:kms:${BLOB}, ${plain}` }))
  t.same(config.encryptionKeys.map((k) => [k.id, isWrappedKey(k)]), [['new', true], ['old', false]])
  const [wrapped] = config.encryptionKeys
  t.equal(wrapped !== undefined && isWrappedKey(wrapped) ? wrapped.wrapped.toString('base64') : '', BLOB)
})

t.test('bad kms entries and TOKEN_KMS_KEY_ID values: the variable named, the value never quoted', async (t) => {
  for (const value of [`k1:kms:${BLOB.slice(0, 20)}!!`, 'k1:kms:', `k1:kms:${randomBytes(6_145).toString('base64')}`, `k1:kms:${BLOB},k1:kms:${BLOB}`]) {
    const err = t.throws(() => loadConfig(testEnv({ TOKEN_ENCRYPTION_KEY: value }))) as ConfigError
    t.ok(err instanceof ConfigError)
    t.same(err.variables, ['TOKEN_ENCRYPTION_KEY'])
    t.notOk(err.message.includes(BLOB.slice(0, 20)), 'no blob quoted')
  }
  for (const good of [KEY_ARN, 'alias/oauth-refresher-tokens', 'arn:aws:kms:us-east-1:111122223333:alias/tokens', '1234abcd-12ab-34cd-56ef-1234567890ab', 'mrk-1234abcd12ab34cd56ef1234567890ab', 'local-test-key']) {
    t.equal(loadConfig(testEnv({ TOKEN_KMS_KEY_ID: good })).kms.keyId, good, good)
  }
  for (const bad of ['my key', 'arn:aws:s3:::bucket', 'alias/', 'key:with:colons']) {
    const err = t.throws(() => loadConfig(testEnv({ TOKEN_KMS_KEY_ID: bad }))) as ConfigError
    t.same(err.variables, ['TOKEN_KMS_KEY_ID'], bad)
  }
  const err = t.throws(() => loadConfig(testEnv({ KMS_ENDPOINT: 'not a url' }))) as ConfigError
  t.same(err.variables, ['KMS_ENDPOINT'])
})

t.test('the KMS region: a key ARN\'s own, else AWS_REGION; the endpoint as given', async (t) => {
  t.same(loadConfig(testEnv({ AWS_REGION: 'us-east-1', TOKEN_KMS_KEY_ID: KEY_ARN })).kms, { region: 'eu-west-3', keyId: KEY_ARN, endpoint: undefined })
  t.same(loadConfig(testEnv({ AWS_REGION: 'us-west-2', TOKEN_KMS_KEY_ID: 'alias/x', KMS_ENDPOINT: 'http://127.0.0.1:4000' })).kms, { region: 'us-west-2', keyId: 'alias/x', endpoint: 'http://127.0.0.1:4000' })
})

t.test('production with a plain key: it works, with a warning recommending KMS that names the id, never the key', async (t) => {
  const plain = generateEncryptionKey('p1')
  const mixed = loadConfig(testEnv({ ...PROD, TOKEN_ENCRYPTION_KEY: `w1:kms:${BLOB},${plain}` }))
  const warning = mixed.warnings.find((w) => w.startsWith('TOKEN_ENCRYPTION_KEY '))
  t.match(warning, /plain key id "p1".*wrap the keys with KMS \(npm run ops -- keys new <id>, docs\/runbook\.md\)/)
  t.notOk(warning?.includes(plain.slice(3)), 'no key material')
  t.notOk(warning?.includes('"w1"'), 'the wrapped entry is not named')
  t.notOk(loadConfig(testEnv({ ...PROD, TOKEN_ENCRYPTION_KEY: `w1:kms:${BLOB}` })).warnings.some((w) => w.startsWith('TOKEN_ENCRYPTION_KEY')), 'wrapped only: no warning')
  t.notOk(loadConfig(testEnv({ TOKEN_ENCRYPTION_KEY: plain })).warnings.some((w) => w.startsWith('TOKEN_ENCRYPTION_KEY')), 'outside production: no warning')
})

t.test('a cipher over an entry still wrapped is refused, naming it', async (t) => {
  t.throws(() => createCipher(parseEncryptionKeys(`${generateEncryptionKey('a')},b:kms:${BLOB}`)), { message: /key id "b" is still wrapped by KMS/ })
})
