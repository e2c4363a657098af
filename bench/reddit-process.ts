// The fleet_cap_ratio figure's fake Reddit, in its own process: the tests' fake (real HTTP, Reddit's
// wire), which stamps every token call it receives. Prints its env, the grants it seeded (one JSON
// line each), then serves. stdin: `stamps` prints the stamps (epoch ms) as one JSON line.
import { createInterface } from 'node:readline'
import { RedditFake } from '../test/fakes/reddit.js'

const count = Number(process.argv[2] ?? '0')
const fake = new RedditFake()
await fake.listen()
fake.latencyMs = Number(process.argv[3] ?? '100')
const stamps: number[] = []
fake.server.onRequest = ((before) => (request: Parameters<NonNullable<typeof before>>[0]) => {
  if (request.endpoint === 'refresh') stamps.push(Date.now())
  before?.(request)
})(fake.server.onRequest)
setInterval(() => { fake.server.requests.length = 0 }, 1_000).unref()

const out: string[] = [JSON.stringify({ env: fake.env() })]
for (let i = 0; i < count; i++) {
  const grant = fake.seedGrant({ id: `acct-${i}`, username: `user_${i}` })
  out.push(JSON.stringify({ at: grant.accessToken, rt: grant.refreshToken }))
}
out.push(JSON.stringify({ done: true }))
process.stdout.write(`${out.join('\n')}\n`)

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stamps') process.stdout.write(`${JSON.stringify({ stamps })}\n`)
}).on('close', () => { fake.close().then(() => process.exit(0), () => process.exit(1)) })
