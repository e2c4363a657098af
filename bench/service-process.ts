// One instance of the service in a process of its own, for the fleet figures (bench/fleet.ts): the
// real app on the real options, configured by its environment; prints `{"port":…}` once listening.
import Fastify from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'
import { createDynamoClients } from '../src/store/dynamodb-client.js'

const config = loadConfig(process.env)
const server = Fastify(serverOptions(config))
// DynamoDB Local on a machine shared with other work can take seconds to answer one call; the
// service's own 2 s request timeout would take that for an outage and stop the pass (store_unavailable).
// The benchmark measures the pass, not the machine's stalls: a patient client.
const dynamo = createDynamoClients({ region: config.aws.region, endpoint: config.aws.dynamodbEndpoint, requestTimeoutMs: 20_000 })
await server.register(app, { config, dynamo })
await server.listen({ port: 0, host: '127.0.0.1' })
const address = server.server.address()
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`)
process.on('SIGTERM', () => { server.close().then(() => process.exit(0), () => process.exit(1)) })
