// The process: configuration, the embedded store in development, the Fastify instance, listen, and a
// graceful shutdown that also stops the embedded DynamoDB Local (no java process left behind).
// Tracing first: its hooks must be in place before Fastify and the AWS SDK load (telemetry/register.ts).
import './telemetry/register.js'
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import app from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { devBanner } from './dev-banner.js'
import { prepareDevEnvironment, type DevEnvironment } from './dev-environment.js'
import { serverOptions } from './server-options.js'
import { createDynamoClients } from './store/dynamodb-client.js'
import { ensureTable } from './store/table.js'
import { shutdownTracing } from './telemetry/tracing.js'

async function main (): Promise<void> {
  const production = process.env.NODE_ENV === 'production'
  let dev: DevEnvironment | undefined
  let config: Config
  try {
    if (!production) dev = await prepareDevEnvironment(process.env)
    config = loadConfig(dev?.env ?? process.env, { sandboxed: dev?.sandboxed })
  } catch (err) {
    await dev?.embedded?.stop()
    const message = err instanceof ConfigError ? err.message : `start-up failed: ${(err as Error).message}`
    process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), msg: message })}\n`)
    process.exit(1)
  }

  const server = Fastify(serverOptions(config))
  for (const warning of config.warnings) server.log.warn(warning)
  if (config.sandbox.enabled) server.log.info({ platforms: config.sandbox.platforms }, 'sandbox providers served under /sandbox (development only, docs/sandbox.md)')
  if (dev !== undefined && dev.filled.length > 0) {
    // The sandbox's and the sign-in's variables (dozens) are counted, not listed: their own lines say what they are.
    const own = dev.filled.filter((name) => !dev.filledForSandbox.includes(name))
    server.log.info({ filled: own, sandboxAndSignInVariables: dev.filledForSandbox.length, dataDir: dev.dataDir }, 'development defaults in use (generated secrets are kept in dev-secrets.json there)')
  }

  // SIGINT and SIGTERM are handled below; close-with-grace keeps errors, other signals and the 10 s cap.
  const grace = closeWithGrace({ delay: 10_000, skip: ['SIGINT', 'SIGTERM'] }, async ({ signal, err }) => {
    if (err !== undefined) server.log.error({ err: { name: err.name, message: err.message } }, 'shutting down after an error')
    else if (signal !== undefined) server.log.info({ signal }, 'shutting down')
    await server.close()
    await dev?.embedded?.stop()
    // The spans of the last requests and runs, flushed (2 s at most: a hung collector holds nothing up).
    await shutdownTracing()
  })
  let firstSignalAtMs: number | undefined
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (firstSignalAtMs === undefined) {
        firstSignalAtMs = Date.now()
        server.log.info({ signal }, 'shutting down')
        grace.close()
        return
      }
      // Ctrl-C under `npm start` arrives twice at once (from the terminal, and forwarded by npm):
      // only a repeat after a second means "stop now".
      if (Date.now() - firstSignalAtMs < 1_000) return
      server.log.error({ signal }, 'second signal, exiting now')
      process.exit(1)
    })
  }

  try {
    // A store we were pointed at locally (embedded, compose) gets its table; AWS tables come from infra/.
    if (config.aws.dynamodbEndpoint !== undefined) {
      const { client } = createDynamoClients({ region: config.aws.region, endpoint: config.aws.dynamodbEndpoint })
      try {
        const { created } = await ensureTable(client, config.tokensTable)
        server.log.info({ table: config.tokensTable, created }, 'table ready')
      } finally {
        client.destroy()
      }
    }
    await server.register(app, { config })
    await server.listen({ port: config.port, host: config.host })
    if (dev !== undefined) {
      const address = server.server.address()
      const port = typeof address === 'object' && address !== null ? address.port : config.port
      const banner = devBanner({ port, host: config.host, dataDir: dev.dataDir, cwd: process.cwd(), cronSecretGenerated: dev.filled.includes('CRON_SECRET'), embeddedStore: dev.embedded !== undefined })
      process.stdout.write(`\n${banner.join('\n')}\n\n`)
    }
  } catch (err) {
    server.log.fatal({ err: { name: (err as Error).name, message: (err as Error).message } }, 'start-up failed')
    await server.close()
    await dev?.embedded?.stop()
    process.exit(1)
  }
}

await main()
