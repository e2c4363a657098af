// Shared test plumbing: configuration for tests, a uniquely named table per test file on the one
// DynamoDB Local of the tap run (scripts/with-dynamodb.ts), and buildApp() with the real options.
import { randomBytes, randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import app, { type AppOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import { generateEncryptionKey } from '../src/store/crypto.js'
import { createDynamoClients, type DynamoClients } from '../src/store/dynamodb-client.js'
import { ensureTable } from '../src/store/table.js'

export type Env = Record<string, string | undefined>

export function dynamoEndpoint (): string {
  const endpoint = process.env.DYNAMODB_ENDPOINT
  if (endpoint === undefined || endpoint === '') {
    throw new Error('DYNAMODB_ENDPOINT is not set: run tests through `npm test` (scripts/with-dynamodb.ts)')
  }
  return endpoint
}

/** A complete, valid test environment; `overrides` win (undefined removes a variable). */
export function testEnv (overrides: Env = {}): Env {
  const env: Env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
    TOKENS_TABLE: 'test-tokens',
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: generateEncryptionKey('k1'),
    CRON_SECRET: 'cron-4fQz8TkW1mXv7RbN2yLp9HsD6gJc',
    INTERNAL_API_KEY: 'internal-7NwK3qZt8VbR1xMf5LyP2hGd9sJ',
    APP_URL: 'https://app.example.test'
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

export function testConfig (overrides: Env = {}): Config {
  return loadConfig(testEnv(overrides))
}

export interface TestTable {
  readonly name: string
  readonly dynamo: DynamoClients
}

/** A fresh table for one test file, deleted at teardown. */
export async function createTestTable (t: Test, prefix = 'test'): Promise<TestTable> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`
  const dynamo = createDynamoClients({ region: 'us-east-1', endpoint: dynamoEndpoint() })
  await ensureTable(dynamo.client, name)
  t.teardown(async () => {
    await dynamo.client.send(new DeleteTableCommand({ TableName: name })).catch(() => {})
    dynamo.client.destroy()
  })
  return { name, dynamo }
}

/** Captures every log line the app writes, to assert that no secret reaches one. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write (chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter((l) => l !== ''))
    callback()
  }

  get text (): string { return this.lines.join('\n') }
}

export interface BuildAppOptions extends Partial<Omit<AppOptions, 'config'>> {
  readonly env?: Env
  readonly config?: Config
  /** Capture logs (at `LOG_LEVEL`, default debug when capturing). */
  readonly logs?: LogCapture
}

/** The real app on the real options; closed at teardown. */
export async function buildApp (t: Test, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const env = options.logs === undefined ? options.env : { LOG_LEVEL: 'debug', ...options.env }
  const config = options.config ?? testConfig(env)
  const instance = Fastify(serverOptions(config, options.logs))
  await instance.register(app, { ...options, config })
  t.teardown(() => instance.close())
  await instance.ready()
  return instance
}
