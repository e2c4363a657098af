// The IAM policies grant exactly the DynamoDB and KMS actions the code sends, in both directions: the
// service's runtime policy (infra/policies/oauth-tokens-minimal-iam.json) and the operators' policy
// (…-ops-iam.json: what the ops CLI's commands send, measured on DynamoDB Local). The KMS statements'
// conditions are checked against the encryption context the code sends to the KMS stand-in.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import t, { type Test } from 'tap'
import { runOps } from '../../src/cli/ops.js'
import { KMS_CONTEXT_SERVICE } from '../../src/keys/kms-params.js'
import { KmsFake, type KmsCall } from '../fakes/kms.js'
import { createTable, dueReport, lockRelease, lockStatus, type OpsContext } from '../../src/cli/commands.js'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { buildApp, createTestTable, dynamoEndpoint, testConfig } from '../helper.js'
import { iamTemplate, IAM_TEMPLATE_PATH, KMS_KEY_CONDITION, renderIamTemplate } from '../../scripts/write-iam-template.js'
import { BY_EXPIRY_INDEX, DEFAULT_TABLE_NAME } from '../../src/store/table.js'

const ROOT = join(import.meta.dirname, '..', '..')
const TABLE_ARN = `arn:aws:dynamodb:*:*:table/${DEFAULT_TABLE_NAME}`
const INDEX_ARN = `${TABLE_ARN}/index/${BY_EXPIRY_INDEX}`

/**
 * SDK command class (client-dynamodb or lib-dynamodb) → the IAM actions it needs. TransactWriteItems
 * has no action of its own: each of its items needs the action of its kind (Put → PutItem, Update →
 * UpdateItem, Delete → DeleteItem, ConditionCheck → ConditionCheckItem). The store's transactions
 * hold Put, Update and Delete items only (a test below keeps ConditionCheck out of src/).
 */
const ACTION_OF: ReadonlyMap<string, string | readonly string[]> = new Map<string, string | readonly string[]>([
  ['Get', 'GetItem'], ['GetItem', 'GetItem'], ['Put', 'PutItem'], ['PutItem', 'PutItem'],
  ['Update', 'UpdateItem'], ['UpdateItem', 'UpdateItem'], ['Delete', 'DeleteItem'], ['DeleteItem', 'DeleteItem'],
  ['Query', 'Query'], ['Scan', 'Scan'], ['BatchGet', 'BatchGetItem'], ['BatchGetItem', 'BatchGetItem'],
  ['BatchWrite', 'BatchWriteItem'], ['BatchWriteItem', 'BatchWriteItem'], ['TransactGet', 'GetItem'],
  ['TransactGetItems', 'GetItem'], ['TransactWrite', ['PutItem', 'UpdateItem', 'DeleteItem']], ['TransactWriteItems', ['PutItem', 'UpdateItem', 'DeleteItem']],
  ['ExecuteStatement', 'PartiQLSelect'], ['CreateTable', 'CreateTable'], ['DescribeTable', 'DescribeTable'],
  ['DeleteTable', 'DeleteTable'], ['UpdateTable', 'UpdateTable'], ['ListTables', 'ListTables'],
  ['DescribeTimeToLive', 'DescribeTimeToLive'], ['UpdateTimeToLive', 'UpdateTimeToLive']
])

// Where a command sits decides who needs it. Local-only code (the embedded DynamoDB Local of
// `npm start` and the test run) needs no AWS permission; table management runs from the ops CLI
// (and, for a local endpoint only, from server.ts through ensureTable): operators' policy.
const LOCAL_ONLY = ['src/store/embedded-dynamodb.ts', 'src/dev-environment.ts']
const isOps = (file: string): boolean => file.startsWith('src/cli/') || file === 'src/store/table.ts'

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : []
  })
}

interface Use { readonly file: string, readonly command: string }

/** Every `new XxxCommand(` of the DynamoDB SDKs under src/ (other SDKs' commands are ignored). */
function commandsInSource (): Use[] {
  const uses: Use[] = []
  for (const path of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(path, 'utf8')
    if (!/@aws-sdk\/(client-dynamodb|lib-dynamodb)/.test(text)) continue
    for (const match of text.matchAll(/new\s+([A-Z][A-Za-z]*)Command\s*\(/g)) {
      uses.push({ file: relative(ROOT, path).split('\\').join('/'), command: match[1] as string })
    }
  }
  return uses
}

interface Statement { Sid?: string, Effect: string, Action: string | string[], Resource: string | string[], Condition?: Record<string, Record<string, string | string[]>> }
interface Policy { Version: string, Statement: Statement[] }

const list = (v: string | string[]): string[] => Array.isArray(v) ? v : [v]
const sorted = (s: Iterable<string>): string[] => [...new Set(s)].sort()
const readPolicy = (name: string): Policy => JSON.parse(readFileSync(join(ROOT, 'infra', 'policies', name), 'utf8')) as Policy

function actionsOf (uses: readonly Use[]): string[] {
  return sorted(uses.flatMap((u) => {
    const action = ACTION_OF.get(u.command)
    if (action === undefined) throw new Error(`${u.file}: ${u.command}Command has no IAM mapping in this test: add it`)
    return (typeof action === 'string' ? [action] : action).map((a) => `dynamodb:${a}`)
  }))
}

const uses = commandsInSource()
const runtimeUses = uses.filter((u) => !LOCAL_ONLY.includes(u.file) && !isOps(u.file))

t.test('the source scan finds the commands the store is known to send', async (t) => {
  // Guards the scan itself: a regex that stopped matching would make every comparison vacuous.
  t.ok(runtimeUses.some((u) => u.command === 'Get'), 'GetCommand seen')
  t.ok(runtimeUses.some((u) => u.command === 'Query'), 'QueryCommand seen')
  t.ok(uses.some((u) => u.command === 'CreateTable' && u.file === 'src/store/table.ts'), 'CreateTableCommand seen')
})

/**
 * What the operators' CLI sends, measured: every command of src/cli/commands.ts run against DynamoDB
 * Local through clients that record each command's name (issue 14: the policy granted PutItem,
 * DeleteItem and BatchGetItem, which no CLI command sends).
 */
async function opsCommandsSent (t: Test): Promise<Use[]> {
  const table = await createTestTable(t, 'iam')
  const fresh = `iam-new-${randomUUID().slice(0, 8)}`
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  t.teardown(async () => {
    await dynamo.client.send(new DeleteTableCommand({ TableName: fresh })).catch(() => {})
    dynamo.client.destroy()
  })
  const sent = new Set<string>()
  dynamo.client.middlewareStack.add((next, context) => async (args) => {
    sent.add(String(context.commandName).replace(/Command$/, ''))
    return await next(args)
  }, { step: 'initialize', name: 'record-commands' })
  const ctx = (tokensTable: string): OpsContext => ({ config: testConfig({ TOKENS_TABLE: tokensTable }), client: dynamo.client, doc: dynamo.doc, now: Date.now, out: () => {} })
  await lockStatus(ctx(table.name))
  await lockRelease(ctx(table.name), { runId: 'no-such-run', force: false })
  await lockRelease(ctx(table.name), { force: true })
  await dueReport(ctx(table.name))
  await createTable(ctx(table.name))
  await createTable(ctx(fresh))
  sent.delete('DeleteTable')
  return [...sent].map((command) => ({ file: 'src/cli/commands.ts', command }))
}

t.test('the ops command measurement sees reads, writes and table management', async (t) => {
  const sent = (await opsCommandsSent(t)).map((u) => u.command)
  for (const command of ['GetItem', 'UpdateItem', 'Query', 'CreateTable']) t.ok(sent.includes(command), `${command} seen`)
})

for (const [file, expectedOf] of [['oauth-tokens-minimal-iam.json', async () => runtimeUses], ['oauth-tokens-ops-iam.json', opsCommandsSent]] as const) {
  t.test(`${file} grants exactly what the code sends`, async (t) => {
    const expected = await expectedOf(t)
    const whole = readPolicy(file)
    t.equal(whole.Version, '2012-10-17')
    for (const s of whole.Statement) t.ok(list(s.Action).every((a) => a.startsWith('dynamodb:')) || list(s.Action).every((a) => a.startsWith('kms:')), `${s.Sid ?? '?'}: one service per statement`)
    // The DynamoDB statements here; the KMS ones in their own test below.
    const policy = { ...whole, Statement: whole.Statement.filter((s) => list(s.Action).every((a) => a.startsWith('dynamodb:'))) }
    for (const s of policy.Statement) {
      t.equal(s.Effect, 'Allow', `${s.Sid ?? '?'}: Allow only`)
      for (const r of list(s.Resource)) t.ok(r === TABLE_ARN || r === INDEX_ARN, `${s.Sid ?? '?'}: ${r} is the table or its ${BY_EXPIRY_INDEX} index`)
      for (const a of list(s.Action)) t.notOk(a.includes('*'), `${a}: no wildcard actions`)
    }
    const granted = sorted(policy.Statement.flatMap((s) => list(s.Action)))
    const needed = actionsOf(expected)
    t.same(granted.filter((a) => !needed.includes(a)), [], 'no action granted that the code never sends')
    t.same(needed.filter((a) => !granted.includes(a)), [], `no action sent that is not granted (${expected.map((u) => `${u.file}:${u.command}`).join(', ')})`)

    const onIndex = sorted(policy.Statement.filter((s) => list(s.Resource).includes(INDEX_ARN)).flatMap((s) => list(s.Action)))
    t.same(onIndex, ['dynamodb:Query'], `the ${BY_EXPIRY_INDEX} index is only queried`)
    const onTable = sorted(policy.Statement.filter((s) => list(s.Resource).includes(TABLE_ARN)).flatMap((s) => list(s.Action)))
    t.same(onTable, needed, 'the table statement holds every action the code sends')
  })
}

t.test('transactions hold Put, Update and Delete items only (no ConditionCheck, which would need ConditionCheckItem)', async (t) => {
  t.ok(uses.some((u) => u.command === 'TransactWrite'), 'TransactWriteCommand seen')
  for (const path of sourceFiles(join(ROOT, 'src'))) {
    t.notMatch(readFileSync(path, 'utf8'), /\bConditionCheck\s*:/, relative(ROOT, path))
  }
})

t.test('table management never runs on the service path against AWS', async (t) => {
  // ensureTable needs CreateTable/UpdateTimeToLive, which the runtime policy does not grant: only
  // the ops CLI, and server.ts behind a configured local endpoint, may call it.
  const callers = sourceFiles(join(ROOT, 'src'))
    .filter((p) => /\bensureTable\s*\(/.test(readFileSync(p, 'utf8')))
    .map((p) => relative(ROOT, p).split('\\').join('/'))
    .filter((f) => f !== 'src/store/table.ts')
  for (const file of callers) t.ok(file === 'src/server.ts' || isOps(file), `${file} may call ensureTable`)
  const server = readFileSync(join(ROOT, 'src', 'server.ts'), 'utf8')
  t.match(server, /if \(config\.aws\.dynamodbEndpoint !== undefined\) \{[\s\S]*?ensureTable\(/, 'server.ts creates the table only for a configured endpoint')
})

// Issue 14: the policies named a fixed table with `*` region and account. The stack template binds
// both to the `TableName` parameter in its own region and account, with the documents' actions.
t.test('infra/oauth-tokens-iam.json: both policies on the TableName parameter, in the stack\'s region and account', async (t) => {
  t.equal(readFileSync(IAM_TEMPLATE_PATH, 'utf8'), renderIamTemplate(), 'current: run `npm run infra:iam`')
  const template = iamTemplate() as { Parameters: Record<string, { Default?: unknown }>, Resources: Record<string, { Properties: { PolicyDocument: { Statement: Array<{ Action: string[], Resource: unknown } | { 'Fn::If': unknown[] }> } } }> }
  t.equal(template.Parameters.TableName?.Default, DEFAULT_TABLE_NAME)
  for (const [id, file] of [['ServicePolicy', 'oauth-tokens-minimal-iam.json'], ['OperatorsPolicy', 'oauth-tokens-ops-iam.json']] as const) {
    const all = template.Resources[id]?.Properties.PolicyDocument.Statement ?? []
    const statements = all.filter((s): s is { Action: string[], Resource: unknown } => !('Fn::If' in s))
    const kms = readPolicy(file).Statement.filter((s) => list(s.Action).every((a) => a.startsWith('kms:')))
    t.same(all.filter((s) => 'Fn::If' in s), kms.map((s) => ({ 'Fn::If': [KMS_KEY_CONDITION, { ...s, Resource: { Ref: 'TokenKmsKeyArn' } }, { Ref: 'AWS::NoValue' }] })), `${id}: the KMS statements of ${file}, on the TokenKmsKeyArn parameter, only when it is set`)
    t.same(sorted(statements.flatMap((s) => s.Action)), sorted(readPolicy(file).Statement.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('dynamodb:'))), `${id}: the DynamoDB actions of ${file}`)
    for (const s of statements) {
      const arn = (s.Resource as { 'Fn::Sub'?: string })['Fn::Sub'] ?? ''
      t.match(arn, /^arn:\$\{AWS::Partition\}:dynamodb:\$\{AWS::Region\}:\$\{AWS::AccountId\}:table\/\$\{TableName\}(\/index\/byExpiry)?$/, `${id}: ${arn}`)
      t.notOk(arn.includes('*'), 'no wildcard region, account or table')
    }
  }
})

// Issue 21: keys under KMS. What the code sends is measured on the KMS stand-in: the service's start
// path (buildApp with a wrapped key) and the ops CLI's `keys new`. Each policy grants exactly those
// operations on the one key, under a condition that every context the code sends satisfies and
// that pins the context to {service: oauth-refresher, keyId}.
const KMS_KEY_ARN = 'arn:aws:kms:*:*:key/TOKEN_KMS_KEY_ID'

/** Every `new XxxCommand(` of the KMS SDK under src/, by file. */
function kmsCommandsInSource (): Use[] {
  return sourceFiles(join(ROOT, 'src')).flatMap((path) => {
    const text = readFileSync(path, 'utf8')
    if (!text.includes('@aws-sdk/client-kms')) return []
    return [...text.matchAll(/new\s+([A-Z][A-Za-z]*)Command\s*\(/g)].map((m) => ({ file: relative(ROOT, path).split('\\').join('/'), command: m[1] as string }))
  })
}

async function kmsCallsOfService (t: Test): Promise<KmsCall[]> {
  const kms = await KmsFake.start(t)
  const entry = `k1:kms:${kms.wrap(randomBytes(32), { service: 'oauth-refresher', keyId: 'k1' }).toString('base64')}`
  const table = await createTestTable(t, 'iam-kms')
  await buildApp(t, { config: testConfig({ TOKENS_TABLE: table.name, ...kms.env(), TOKEN_ENCRYPTION_KEY: entry }) })
  return kms.calls
}

async function kmsCallsOfOps (t: Test): Promise<KmsCall[]> {
  const kms = await KmsFake.start(t)
  const code = await runOps(['keys', 'new', 'k2'], { env: kms.env(), out: () => {}, err: () => {} })
  t.equal(code, 0, 'keys new ran')
  return kms.calls
}

t.test('the source sends Decrypt (start-up) and GenerateDataKey (keys new) only, and keys new runs only from the CLI', async (t) => {
  t.same(kmsCommandsInSource(), [{ file: 'src/keys/new-data-key.ts', command: 'GenerateDataKey' }, { file: 'src/keys/unwrap-keys.ts', command: 'Decrypt' }])
  const callers = sourceFiles(join(ROOT, 'src')).filter((p) => /\bnewWrappedKey\s*\(/.test(readFileSync(p, 'utf8'))).map((p) => relative(ROOT, p).split('\\').join('/'))
  t.same(callers.filter((f) => f !== 'src/keys/new-data-key.ts'), ['src/cli/keys-command.ts'])
})

for (const [file, measure] of [['oauth-tokens-minimal-iam.json', kmsCallsOfService], ['oauth-tokens-ops-iam.json', kmsCallsOfOps]] as const) {
  t.test(`${file}: the KMS actions the code sends, on the key, under the encryption context it sends`, async (t) => {
    const calls = await measure(t)
    t.ok(calls.length > 0, 'the measurement saw KMS calls')
    const statements = readPolicy(file).Statement.filter((s) => list(s.Action).every((a) => a.startsWith('kms:')))
    t.same(sorted(statements.flatMap((s) => list(s.Action))), sorted(calls.map((c) => `kms:${c.operation}`)), 'granted = sent')
    for (const s of statements) {
      t.same(list(s.Resource), [KMS_KEY_ARN], `${s.Sid ?? '?'}: that key only`)
      const service = s.Condition?.StringEquals?.['kms:EncryptionContext:service']
      const keys = sorted(list(s.Condition?.['ForAllValues:StringEquals']?.['kms:EncryptionContextKeys'] ?? []))
      t.equal(service, KMS_CONTEXT_SERVICE, 'service pinned')
      t.same(s.Condition?.Null, { 'kms:EncryptionContext:keyId': 'false' }, 'a keyId is required')
      for (const c of calls) {
        t.equal(c.encryptionContext?.service, service, `${c.operation}: its context satisfies the service condition`)
        t.same(sorted(Object.keys(c.encryptionContext ?? {})), keys, `${c.operation}: its context has exactly the allowed keys`)
        t.type(c.encryptionContext?.keyId, 'string', `${c.operation}: it sends a keyId`)
      }
    }
  })
}
