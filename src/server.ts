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
import { waitForStore } from './store/wait-for-store.js'
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
    // A configuration error is one line naming variables (never values); anything else keeps its stack.
    const line = err instanceof ConfigError
      ? { level: 60, time: Date.now(), msg: err.message }
      : { level: 60, time: Date.now(), err: startupError(err), msg: `start-up failed: ${startupError(err).message}` }
    process.stderr.write(`${JSON.stringify(line)}\n`)
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
  // A signal during start-up (the store wait) ends the wait at once; the grace handler then exits.
  const starting = new AbortController()
  let firstSignalAtMs: number | undefined
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (firstSignalAtMs === undefined) {
        firstSignalAtMs = Date.now()
        server.log.info({ signal }, 'shutting down')
        starting.abort()
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
        // DynamoDB Local may still be starting (compose, a fresh `docker run`): wait up to STORE_WAIT_MS.
        const { created } = await waitForStore(async () => await ensureTable(client, config.tokensTable), {
          waitMs: config.storeWaitMs,
          signal: starting.signal,
          onRetry: ({ attempt, retryInMs, error }) => { server.log.info({ attempt, retryInMs, error, waitMs: config.storeWaitMs }, 'store not answering yet; trying again') }
        })
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
    // Stopped by a signal while waiting: the grace handler is closing and exits 0.
    if (starting.signal.aborted) return
    const error = startupError(err)
    server.log.fatal({ err: error }, `start-up failed: ${error.message}`)
    await server.close()
    await dev?.embedded?.stop()
    process.exit(1)
  }
}

/**
 * The error as pino's serializer logs it (type, message, stack, cause): a thrown non-Error becomes one,
 * and an AggregateError (a refused dual-stack connect) gets its inner messages as its message.
 */
function startupError (err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err))
  const inner = (err as { errors?: unknown }).errors
  if (err.message === '' && Array.isArray(inner)) err.message = inner.map((e) => e instanceof Error ? e.message : String(e)).join('; ')
  return err
}

await main()
