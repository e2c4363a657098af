// `npm run ops -- <command>`: the operators' CLI. Prints what it did; exit code 0 done, 1 refused,
// 2 usage or configuration, 3 store unavailable, 4 KMS unavailable. Configuration from the environment (see ops-config.ts);
// outside production with no DYNAMODB_ENDPOINT, the store `npm start` runs.
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../config.js'
import { createDynamoClients } from '../store/dynamodb-client.js'
import { StoreUnavailableError } from '../store/errors.js'
import { createTable, dueReport, EXIT, lockRelease, lockStatus, webhookReport, type OpsContext } from './commands.js'
import { locateStore, loadOpsConfig, NO_STORE_CONFIGURED } from './ops-config.js'

export const USAGE = `usage: npm run ops -- <command>
  lock status                      who holds the cron lock, until when, and the last run's summary
  lock release --run-id <id>       frees the lock if run <id> holds it
  lock release --force             clears a lease that has already ended (never a live one)
  due                              dry run: how many tokens each platform's run would read now
  create-table                     creates the table (idempotent), waits until active, turns TTL on
  webhooks                         webhook deliveries pending (with their next attempt) and given up as failed
  keys new <id>                    a KMS-wrapped data key for TOKEN_ENCRYPTION_KEY (needs TOKEN_KMS_KEY_ID)
environment: TOKENS_TABLE, AWS_REGION, DYNAMODB_ENDPOINT (unset = the store npm start runs, outside
  production; else AWS), the run and window settings; TOKEN_KMS_KEY_ID, KMS_ENDPOINT for keys`

export interface OpsIo {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly now?: () => number
}

export async function runOps (argv: readonly string[], io: OpsIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { 'run-id': { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`)
    return EXIT.usage
  }
  if (parsed.positionals[0] === 'keys' && parsed.positionals[1] === 'new' && parsed.positionals.length <= 3 && !parsed.values.help) {
    // KMS only: no store is located or touched.
    let keysConfig
    try {
      keysConfig = loadOpsConfig(io.env)
    } catch (err) {
      io.err(err instanceof ConfigError ? err.message : 'configuration could not be read')
      return EXIT.usage
    }
    // Loaded here only: the other commands never pay for the KMS SDK's start-up.
    const { keysNew } = await import('./keys-command.js')
    return await keysNew(parsed.positionals[2], keysConfig, io.env.TOKEN_ENCRYPTION_KEY, io)
  }
  const command = parsed.positionals.join(' ')
  if (parsed.values.help || !['lock status', 'lock release', 'due', 'create-table', 'webhooks'].includes(command)) {
    io.err(USAGE)
    return parsed.values.help ? EXIT.ok : EXIT.usage
  }
  const located = locateStore(io.env)
  if (located.note !== undefined) io.err(located.note)
  let config
  try {
    config = loadOpsConfig(located.env)
  } catch (err) {
    io.err(err instanceof ConfigError ? err.message : 'configuration could not be read')
    return EXIT.usage
  }
  const dynamo = createDynamoClients({ region: config.aws.region, endpoint: config.aws.dynamodbEndpoint })
  const ctx: OpsContext = { config, client: dynamo.client, doc: dynamo.doc, now: io.now ?? Date.now, out: io.out }
  try {
    switch (command) {
      case 'lock status': return await lockStatus(ctx)
      case 'lock release': return await lockRelease(ctx, { runId: parsed.values['run-id'], force: parsed.values.force === true })
      case 'due': return await dueReport(ctx)
      case 'webhooks': return await webhookReport(ctx)
      default: return await createTable(ctx)
    }
  } catch (err) {
    const cause = err instanceof StoreUnavailableError ? err.cause : err
    if (config.aws.dynamodbEndpoint === undefined && cause instanceof Error && cause.name === 'CredentialsProviderError') {
      io.err(NO_STORE_CONFIGURED)
      return EXIT.usage
    }
    // Names only: SDK messages can quote request details.
    const name = err instanceof StoreUnavailableError ? err.message : `DynamoDB call failed: ${err instanceof Error ? err.name : typeof err}`
    io.err(`store unavailable (${name})`)
    return EXIT.storeUnavailable
  } finally {
    dynamo.client.destroy()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `npm run ops -- … | head`: once the reader has gone, the rest of the output has nowhere to go.
  // Stop writing and finish with the command's own exit code, rather than die on an unhandled EPIPE.
  let stdoutGone = false
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    stdoutGone = true
  })
  process.exitCode = await runOps(process.argv.slice(2), {
    env: process.env,
    out: (line) => { if (!stdoutGone) process.stdout.write(`${line}\n`) },
    err: (line) => { process.stderr.write(`${line}\n`) }
  })
}
