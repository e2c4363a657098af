// Run as a child process by test/telemetry/register.test.ts: loads the tracing start-up as
// src/server.ts does (first), then the AWS SDK and Fastify, and prints which OpenTelemetry modules
// were loaded and whether the AWS SDK got hooked, as one JSON line.
import '../../src/telemetry/register.js'
import { createRequire } from 'node:module'
import { createDynamoClients } from '../../src/store/dynamodb-client.js'
import { tracingActive } from '../../src/telemetry/tracing.js'

const require = createRequire(import.meta.url)
createDynamoClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }).client.destroy()
const loaded = Object.keys(require.cache).filter((path) => /node_modules\/(@opentelemetry|@fastify\/otel|require-in-the-middle|import-in-the-middle)\//.test(path))
const packages = [...new Set(loaded.map((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path.slice(path.lastIndexOf('node_modules/')))?.[1] ?? path))].sort()
process.stdout.write(`${JSON.stringify({ active: tracingActive(), packages })}\n`)
