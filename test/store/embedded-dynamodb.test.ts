// The embedded DynamoDB Local: it answers, persists under its dbPath across restarts, stops without
// leaving java behind, and says clearly when Java is missing.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ListTablesCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { startEmbeddedDynamoDb } from '../../src/store/embedded-dynamodb.js'
import { ensureTable } from '../../src/store/table.js'

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function pidsWith (text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return []
  }
}

t.test('persists under dbPath across restarts and stops cleanly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-ddb-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const first = await startEmbeddedDynamoDb({ dbPath: dir })
  t.teardown(() => first.stop())
  t.match(first.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.same(pidsWith(dir).length, 1, 'java runs with this -dbPath')
  const a = createDynamoClients({ region: 'us-east-1', endpoint: first.endpoint })
  t.same(await ensureTable(a.client, 'persisted-table'), { created: true, ttlEnabled: true })
  a.client.destroy()
  await first.stop()
  t.notOk(alive(first.pid), 'the process is gone after stop()')
  t.same(pidsWith(dir), [], 'no java left on this data dir')
  await first.stop()
  t.pass('stop() twice is harmless')

  const second = await startEmbeddedDynamoDb({ dbPath: dir })
  t.teardown(() => second.stop())
  const b = createDynamoClients({ region: 'us-east-1', endpoint: second.endpoint })
  t.teardown(() => b.client.destroy())
  const { TableNames } = await b.client.send(new ListTablesCommand({}))
  t.same(TableNames, ['persisted-table'], 'the table survived the restart')
  t.same(await ensureTable(b.client, 'persisted-table'), { created: false, ttlEnabled: true })
})

t.test('without java on PATH: a clear error naming Java 17+', async (t) => {
  const path = process.env.PATH
  process.env.PATH = mkdtempSync(join(tmpdir(), 'no-java-'))
  t.teardown(() => {
    rmSync(process.env.PATH ?? '', { recursive: true, force: true })
    process.env.PATH = path
  })
  await t.rejects(startEmbeddedDynamoDb({ readyTimeoutMs: 10_000 }), /DynamoDB Local did not start: java could not run it \(Java 17\+ is needed\)/)
})
