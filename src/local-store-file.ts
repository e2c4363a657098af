// Outside production `npm start` runs its own DynamoDB Local on a free port. It writes that endpoint
// to <LOCAL_DATA_DIR>/local-store.json (mode 600) so the ops CLI on the same machine reaches the same
// store without anyone copying a port; the file goes when the store stops. A server killed outright
// cannot remove it, so the file names the server's pid and a reader treats a dead pid as stale.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const LOCAL_STORE_FILE = 'local-store.json'

type Env = Readonly<Record<string, string | undefined>>

export interface LocalStore {
  readonly endpoint: string
  /** The `npm start` process that runs the store. */
  readonly pid: number
  readonly startedAt: string
}

/** LOCAL_DATA_DIR, else `.data` under the working directory (absolute either way). */
export function localDataDir (env: Env): string {
  return resolve(env.LOCAL_DATA_DIR === undefined || env.LOCAL_DATA_DIR === '' ? '.data' : env.LOCAL_DATA_DIR)
}

export function localStorePath (dataDir: string): string {
  return join(dataDir, LOCAL_STORE_FILE)
}

export function writeLocalStore (dataDir: string, endpoint: string, pid = process.pid): void {
  const store: LocalStore = { endpoint, pid, startedAt: new Date().toISOString() }
  writeFileSync(localStorePath(dataDir), `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 })
}

/** Removes the file only if `pid` wrote it: another server on the same directory keeps its own. */
export function removeLocalStore (dataDir: string, pid = process.pid): void {
  if (readLocalStore(dataDir)?.store.pid === pid) rmSync(localStorePath(dataDir), { force: true })
}

/** The published store and whether the process that runs it is alive; undefined without a readable file. */
export function readLocalStore (dataDir: string): { store: LocalStore, live: boolean } | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(localStorePath(dataDir), 'utf8'))
  } catch {
    return undefined
  }
  const { endpoint, pid, startedAt } = (parsed ?? {}) as Partial<LocalStore>
  if (typeof endpoint !== 'string' || !/^http:\/\/127\.0\.0\.1:\d+$/.test(endpoint) || typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined
  return { store: { endpoint, pid, startedAt: String(startedAt) }, live: isAlive(pid) }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
