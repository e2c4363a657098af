// The environment every benchmark's service starts from: the bench's own DynamoDB Local and table,
// its key, throwaway secrets. Each benchmark adds what it measures (a platform, an issuer, a webhook).
import { randomUUID } from 'node:crypto'

export interface BenchStore {
  readonly endpoint: string
  readonly table: string
  readonly encryptionKey: string
}

export function benchEnv (store: BenchStore, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DYNAMODB_ENDPOINT: store.endpoint,
    TOKENS_TABLE: store.table,
    COOKIE_SECRET: randomUUID() + randomUUID(),
    TOKEN_ENCRYPTION_KEY: store.encryptionKey,
    APP_URL: 'https://bench.invalid',
    ...extra
  }
}
