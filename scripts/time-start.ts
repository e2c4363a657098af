// How long `npm start` takes to listen: spawns it as a terminal would (its own process group), times
// the first "Server listening at" log line from the spawn, then stops it with Ctrl-C (SIGINT).
// `node --import tsx scripts/time-start.ts [runs]`: the first run on an empty LOCAL_DATA_DIR (secrets
// generated, DynamoDB Local's data and table created), the next ones on that same directory.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function timeOneStart (dataDir: string): Promise<number> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, PORT: String(port), LOCAL_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let output = ''
  const ms = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Server listening at')) resolve(Math.round(performance.now() - started))
    })
    exited.then(() => reject(new Error(`npm start exited before listening:\n${output}`)), reject)
  })
  process.kill(-(child.pid ?? 0), 'SIGINT')
  await exited
  return ms
}

const runs = Number(process.argv[2] ?? 3)
const dataDir = mkdtempSync(join(tmpdir(), 'time-start-'))
try {
  for (let i = 0; i < runs; i++) {
    process.stdout.write(`${i === 0 ? 'first start (empty data dir)' : 'start on the same data'}: ${await timeOneStart(dataDir)} ms to the listening line\n`)
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
