// `npm run ops -- keys new <id>` against the KMS stand-in: the printed entry unwraps (through the
// same unwrap the service runs), KMS never sees the plaintext printed back, and each refusal (no
// TOKEN_KMS_KEY_ID, a bad or taken id, KMS refusing or down) has its exit code and no key material.
import { spawn } from 'node:child_process'
import t from 'tap'
import { runOps } from '../../src/cli/ops.js'
import { createKmsClient } from '../../src/keys/kms-client.js'
import { unwrapKeys } from '../../src/keys/unwrap-keys.js'
import { generateEncryptionKey, parseEncryptionKeys } from '../../src/store/crypto.js'
import { closedEndpoint, KmsFake } from '../fakes/kms.js'
import { CHILD_ENV_BASE } from '../helpers/child-env.js'
import { ROOT } from '../helpers/server-process.js'

function io (env: Record<string, string | undefined>) {
  const out: string[] = []
  const err: string[] = []
  return { out, err, io: { env, out: (l: string) => { out.push(l) }, err: (l: string) => { err.push(l) } } }
}

t.test('keys new prints one wrapped entry that unwraps to the data key KMS made, never that key', async (t) => {
  const kms = await KmsFake.start(t)
  const r = io({ ...kms.env(), TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1') })
  t.equal(await runOps(['keys', 'new', 'k2'], r.io), 0)
  t.equal(r.out.length, 1, 'stdout holds the entry alone')
  const entry = r.out[0] ?? ''
  t.match(entry, /^k2:kms:[A-Za-z0-9+/]+={0,2}$/)
  t.match(r.err.join('\n'), /second \(deploy\), then first \(deploy\)/, 'says how to add it')
  const [generated] = kms.callsOf('GenerateDataKey')
  t.same(generated, { operation: 'GenerateDataKey', keyId: kms.keyArn, encryptionContext: { service: 'oauth-refresher', keyId: 'k2' } })
  const plaintext = kms.generatedPlaintexts[0] ?? 'none'
  t.notOk([...r.out, ...r.err].join('\n').includes(plaintext), 'the plaintext data key is never printed')

  const client = createKmsClient({ region: 'us-east-1', endpoint: kms.endpoint })
  t.teardown(() => client.destroy())
  const [key] = await unwrapKeys(parseEncryptionKeys(entry), { kms: client, kmsKeyId: kms.keyArn })
  t.equal(key?.key.toString('base64'), plaintext, 'the printed blob unwraps to the key KMS generated')
  // Under another id the blob is refused: the id is part of the context.
  await t.rejects(unwrapKeys(parseEncryptionKeys(entry.replace(/^k2:/, 'k3:')), { kms: client }), { code: 'kms_refused' })
})

t.test('keys new refuses: no TOKEN_KMS_KEY_ID, a bad id, an id already configured', async (t) => {
  const kms = await KmsFake.start(t)
  let r = io({ KMS_ENDPOINT: kms.endpoint })
  t.equal(await runOps(['keys', 'new', 'k2'], r.io), 2)
  t.match(r.err[0], /needs TOKEN_KMS_KEY_ID/)
  r = io(kms.env())
  t.equal(await runOps(['keys', 'new', 'bad:id'], r.io), 2)
  t.equal(await runOps(['keys', 'new'], r.io), 2)
  t.match(r.err[0], /^usage: keys new <id>/)
  r = io({ ...kms.env(), TOKEN_ENCRYPTION_KEY: `${generateEncryptionKey('old')}` })
  t.equal(await runOps(['keys', 'new', 'old'], r.io), 1)
  t.match(r.err[0], /key id "old" is already in TOKEN_ENCRYPTION_KEY/)
  r = io({ ...kms.env(), TOKEN_KMS_KEY_ID: 'not a key' })
  t.equal(await runOps(['keys', 'new', 'k2'], r.io), 2, 'a malformed TOKEN_KMS_KEY_ID is a configuration error')
  t.match(r.err[0], /TOKEN_KMS_KEY_ID/)
  t.same(kms.calls, [], 'KMS was never asked')
})

t.test('keys new with KMS refusing (exit 1) or down (exit 4): the error named, nothing else', async (t) => {
  const kms = await KmsFake.start(t)
  kms.refuse = 'AccessDeniedException'
  let r = io(kms.env())
  t.equal(await runOps(['keys', 'new', 'k2'], r.io), 1)
  t.same(r.out, [])
  t.match(r.err[0], /^KMS refused GenerateDataKey \(AccessDeniedException\)/)
  r = io({ ...kms.env(), TOKEN_KMS_KEY_ID: 'alias/no-such-key' })
  kms.refuse = undefined
  t.equal(await runOps(['keys', 'new', 'k2'], r.io), 1)
  t.match(r.err[0], /NotFoundException/)
  r = io({ ...kms.env(), KMS_ENDPOINT: await closedEndpoint() })
  t.equal(await runOps(['keys', 'new', 'k2'], r.io), 4)
  t.same(r.out, [])
  t.match(r.err[0], /^KMS did not answer/)
})

t.test('`npm run -s ops -- keys new` as operators run it: the entry alone on stdout', async (t) => {
  const kms = await KmsFake.start(t)
  const child = spawn('npm', ['run', '-s', 'ops', '--', 'keys', 'new', 'cli1'], { cwd: ROOT, env: { ...CHILD_ENV_BASE, HOME: process.env.HOME, ...kms.env() }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.equal(code, 0, stderr)
  t.match(stdout, /^cli1:kms:[A-Za-z0-9+/]+={0,2}\n$/)
  t.notOk(`${stdout}${stderr}`.includes(kms.generatedPlaintexts[0] ?? 'none'), 'no plaintext key')
})
