// Runs the real server process for the process tests (test/server*.test.ts): spawn, wait for
// /readyz, watch it exit, and find what it left behind.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { Test } from 'tap'
import type { Env } from '../helper.js'
import { CHILD_ENV_BASE } from './child-env.js'

export const ROOT = new URL('../..', import.meta.url).pathname

export interface Running {
  readonly child: ChildProcess
  readonly port: number
  readonly output: () => { stdout: string, stderr: string }
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts the server with exactly `env` (plus PATH/HOME), killed at teardown if still running. `npm`
 * runs `npm start` in its own process group, as a terminal would (Ctrl-C signals the whole group).
 */
export async function startServer (t: Test, env: Env, via: 'node' | 'npm' = 'node'): Promise<Running> {
  const port = await freePort()
  const [command, args] = via === 'npm' ? ['npm', ['start']] as const : [process.execPath, ['--import', 'tsx', 'src/server.ts']] as const
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...CHILD_ENV_BASE, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: via === 'npm'
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(() => {
    if (child.exitCode !== null || child.signalCode !== null) return
    if (via === 'npm' && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    else child.kill('SIGKILL')
  })
  return { child, port, exited, output: () => ({ stdout, stderr }) }
}

export async function waitReady (server: Running, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (server.child.exitCode !== null) throw new Error(`server exited ${server.child.exitCode}: ${server.output().stderr}${server.output().stdout}`)
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/readyz`, { signal: AbortSignal.timeout(2_000) })
      if (res.status === 200) return Date.now() - started
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${server.output().stderr}${server.output().stdout}`)
}

export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Pids of processes whose command line holds `text` (the java child's unique -dbPath). */
export function pidsWith (text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return []
  }
}

export async function goneWithin (text: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (pidsWith(text).length === 0) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return pidsWith(text).length === 0
}

export async function portClosedWithin (port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) })
    } catch {
      return true
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}
