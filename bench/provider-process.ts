// The benchmark's fake provider, in its own process so its memory (it records every request and every
// token it issues) never counts in the service's RSS. It is the tests' fake TikTok (real HTTP, real
// wire format); it prints its env, then the grants it seeded, one JSON line each, then serves.
// stdin: `latency <ms>` changes the answer latency.
import { createInterface } from 'node:readline'
import { TiktokFake } from '../test/fakes/tiktok.js'

const count = Number(process.argv[2] ?? '0')
const fake = new TiktokFake()
await fake.listen()
fake.latencyMs = Number(process.argv[3] ?? '100')
// The fake keeps every request it saw (tests assert on them): a benchmark does not need them.
setInterval(() => { fake.server.requests.length = 0 }, 1_000).unref()

const out: string[] = [JSON.stringify({ env: fake.env() })]
for (let i = 0; i < count; i++) {
  const grant = fake.seedGrant({ id: `acct-${i}`, username: `user_${i}` })
  out.push(JSON.stringify({ at: grant.accessToken, rt: grant.refreshToken }))
  if (out.length >= 5_000) process.stdout.write(`${out.splice(0).join('\n')}\n`)
}
out.push(JSON.stringify({ done: true }))
process.stdout.write(`${out.join('\n')}\n`)

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.trim().split(/\s+/)
  if (command === 'latency') fake.latencyMs = Number(value)
}).on('close', () => { fake.close().then(() => process.exit(0), () => process.exit(1)) })
