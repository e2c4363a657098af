// One instance of the service in a process of its own, for the fleet figures (bench/fleet.ts): the
// real app on the real options, configured by its environment; prints `{"port":…}` once listening.
import Fastify from 'fastify'
import app from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { serverOptions } from '../src/server-options.js'

const config = loadConfig(process.env)
const server = Fastify(serverOptions(config))
await server.register(app, { config })
await server.listen({ port: 0, host: '127.0.0.1' })
const address = server.server.address()
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`)
process.on('SIGTERM', () => { server.close().then(() => process.exit(0), () => process.exit(1)) })
