// Runs a command (the tap suite) with one in-memory DynamoDB Local shared by all its test files:
// DYNAMODB_ENDPOINT is set for the command; the java process is stopped when the command ends,
// and dies with this process even on SIGKILL (see src/store/embedded-dynamodb.ts).
import { spawn } from 'node:child_process'
import { startEmbeddedDynamoDb } from '../src/store/embedded-dynamodb.js'

const [command, ...args] = process.argv.slice(2)
if (command === undefined) {
  process.stderr.write('usage: with-dynamodb <command> [args…]\n')
  process.exit(2)
}

const store = await startEmbeddedDynamoDb()
const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, DYNAMODB_ENDPOINT: store.endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  shell: false
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
const code = await new Promise<number>((resolve) => {
  child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)))
  child.once('error', () => resolve(127))
})
await store.stop()
process.exit(code)
