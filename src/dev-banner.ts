// What `npm start` prints outside production once it listens: where it serves and what to do next.
// The cron command reads the development secret from its file when it runs: the secret itself is
// never printed (a terminal's scrollback and a shared screen are logs too).
import { isAbsolute, join, relative } from 'node:path'

export interface DevBannerInput {
  /** The port the server listens on. */
  readonly port: number
  /** The interface it is bound to (HOST). */
  readonly host: string
  /** Where dev-secrets.json lives (absolute). */
  readonly dataDir: string
  /** The working directory the commands are meant to be pasted in. */
  readonly cwd: string
  /** Whether CRON_SECRET came from dev-secrets.json (else the developer set it in the environment). */
  readonly cronSecretGenerated: boolean
  /** Whether the store is the embedded one (published for the ops CLI), not a DYNAMODB_ENDPOINT the developer set. */
  readonly embeddedStore: boolean
}

/** `./.data/dev-secrets.json` when under cwd, else the absolute path, for pasting into a shell. */
function shownPath (cwd: string, path: string): string {
  const rel = relative(cwd, path)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : `./${rel}`
}

export function devBanner (input: DevBannerInput): string[] {
  const base = `http://localhost:${input.port}`
  const secretsFile = shownPath(input.cwd, join(input.dataDir, 'dev-secrets.json'))
  const secret = input.cronSecretGenerated
    ? `$(node -p "require('${secretsFile.replaceAll("'", "\\'")}').CRON_SECRET")`
    : '$CRON_SECRET'
  const reach = ['127.0.0.1', 'localhost', '::1'].includes(input.host) ? 'this machine only' : `every interface (HOST=${input.host})`
  return [
    `oauth-refresher is ready: ${base} (development, ${reach})`,
    `  next: open ${base}/dev (development sign-in and console; docs/dev-console.md)`,
    `  cron: curl -H "x-cron-secret: ${secret}" ${base}/api/cron/refresh-oauth`,
    `  ops:  npm run ops -- lock status (${input.embeddedStore ? 'it finds this store by itself' : 'with the same DYNAMODB_ENDPOINT'})`,
    '  docs: README.md, docs/; stop with Ctrl-C'
  ]
}
