// scripts/create-eventbridge-cron.sh: its --dry-run names every resource and never the secret; run
// for real against a recording stand-in for the AWS CLI (a real executable on PATH: no AWS account
// here) it creates what is missing, only updates what exists, and keeps the secret off every
// command line and out of its output.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'

const ROOT = join(import.meta.dirname, '..', '..')
const SCRIPT = join(ROOT, 'scripts', 'create-eventbridge-cron.sh')
const ENDPOINT = 'https://oauth-refresher.huntaze.com/api/cron/refresh-oauth'
const CANARY = 'canary-cron-SECRET-7f3a9c1e5b'

// The stand-in `aws`: logs each call (argv, and the content of every file:// argument) as one tab-separated
// record, and answers the reads the script makes. FAKE_AWS_EXISTS=1 makes every resource exist.
const FAKE_AWS = `#!/usr/bin/env bash
set -euo pipefail
{
  printf 'CALL'; printf '\\t%s' "$@"; printf '\\n'
  for a in "$@"; do
    if [[ "$a" == file://* ]]; then printf 'FILE\\t%s\\t%s\\n' "$a" "$(base64 -w0 < "\${a#file://}")"; fi
  done
} >> "$FAKE_AWS_LOG"
call="$1 $2"
query=''
prev=''
for a in "$@"; do [ "$prev" = --query ] && query="$a"; prev="$a"; done
case "$call" in
  'events describe-connection'|'events describe-api-destination'|'events describe-rule'|'iam get-role'|'sqs get-queue-url')
    if [ "\${FAKE_AWS_EXISTS:-0}" != 1 ] && [ -z "$query" ]; then echo ResourceNotFoundException >&2; exit 254; fi ;;
esac
case "$call" in
  'sts get-caller-identity') echo 123456789012 ;;
  'configure get') echo eu-west-1 ;;
  'ssm get-parameter') printf '%s\\n' "$FAKE_SSM_VALUE" ;;
  'events describe-connection') echo arn:aws:events:eu-west-1:123456789012:connection/oauth-refresher-refresh-connection/abc ;;
  'events describe-api-destination') echo arn:aws:events:eu-west-1:123456789012:api-destination/oauth-refresher-refresh-destination/def ;;
  'sqs get-queue-url'|'sqs create-queue') echo https://sqs.eu-west-1.amazonaws.com/123456789012/oauth-refresher-refresh-dlq ;;
esac
`

interface Call { readonly args: string[], readonly files: Record<string, string> }
interface Run { readonly status: number | null, readonly stdout: string, readonly stderr: string, readonly calls: Call[] }

function run (t: Test, args: string[], env: Record<string, string> = {}): Run {
  const dir = t.testdir({})
  const log = join(dir, 'calls.jsonl')
  writeFileSync(join(dir, 'aws'), FAKE_AWS)
  chmodSync(join(dir, 'aws'), 0o755)
  const result = spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: dir, FAKE_AWS_LOG: log, ...env }
  })
  const calls: Call[] = []
  for (const line of existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []) {
    const [kind, ...fields] = line.split('\t')
    if (kind === 'CALL') calls.push({ args: fields, files: {} })
    if (kind === 'FILE') (calls.at(-1)?.files ?? {})[fields[0] ?? ''] = Buffer.from(fields[1] ?? '', 'base64').toString('utf8')
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls }
}

const verbs = (calls: readonly Call[]): string[] => calls.map((c) => c.args.slice(0, 2).join(' '))

t.test('--dry-run prints a call for every resource and never the secret', async (t) => {
  const r = run(t, ['--dry-run', '--endpoint', ENDPOINT, '--region', 'eu-west-1'], { CRON_SECRET: CANARY })
  t.equal(r.status, 0, r.stderr)
  t.same(r.calls, [], 'nothing is run, not even a read')
  const out = r.stdout
  t.match(out, /^aws events create-connection .*--authorization-type API_KEY .*"ApiKeyName":"x-cron-secret","ApiKeyValue":"\*\*\*\*"/m, 'connection with the x-cron-secret API key')
  const destination = /^aws events create-api-destination --cli-input-json '(.*)'/m.exec(out)?.[1]
  t.match(JSON.parse(destination ?? '{}'), { InvocationEndpoint: ENDPOINT, HttpMethod: 'GET', InvocationRateLimitPerSecond: 1 }, 'API destination: GET on the endpoint, rate limited')
  t.match(out, /^aws events put-rule --name \S+ --schedule-expression 'rate\(30 minutes\)' --state ENABLED/m, 'rule rate(30 minutes)')
  t.match(out, /^aws sqs create-queue --queue-name oauth-refresher-refresh-dlq /m, 'dead-letter queue')
  t.match(out, /^aws sqs set-queue-attributes .*"Policy".*events\.amazonaws\.com.*sqs:SendMessage.*aws:SourceArn.*rule\/oauth-refresher-refresh-rule/m, 'queue policy: only the rule may send')
  t.match(out, /^aws iam create-role .*events\.amazonaws\.com/m, 'invocation role trusted by EventBridge')
  t.match(out, /^aws iam put-role-policy .*"Action":"events:InvokeApiDestination"/m, 'role may invoke the destination')
  const targets = /^aws events put-targets .*--targets '(.*)'/m.exec(out)?.[1]
  t.ok(targets, 'target is put')
  const [target] = JSON.parse(targets ?? '[]') as Array<Record<string, Record<string, unknown>>>
  t.match(target, {
    RetryPolicy: { MaximumRetryAttempts: Number, MaximumEventAgeInSeconds: Number },
    DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:ACCOUNT_ID:oauth-refresher-refresh-dlq' },
    RoleArn: 'arn:aws:iam::ACCOUNT_ID:role/oauth-refresher-refresh-invoke-role'
  })
  t.notMatch(out + r.stderr, CANARY, 'the secret value never appears')
})

t.test('--dry-run --assume-exists updates every resource and creates none (re-running never duplicates)', async (t) => {
  const r = run(t, ['--dry-run', '--assume-exists', '--endpoint', ENDPOINT], { CRON_SECRET: CANARY })
  t.equal(r.status, 0, r.stderr)
  t.notMatch(r.stdout, /^aws \S+ create-/m, 'no create call')
  for (const call of ['events update-connection', 'events update-api-destination', 'events put-rule', 'sqs set-queue-attributes', 'iam update-assume-role-policy', 'iam put-role-policy', 'events put-targets']) {
    t.match(r.stdout, new RegExp(`^aws ${call} `, 'm'), call)
  }
})

t.test('--delete --dry-run removes all of it, targets first', async (t) => {
  const r = run(t, ['--delete', '--dry-run', '--assume-exists'])
  t.equal(r.status, 0, r.stderr)
  const deletes = [...r.stdout.matchAll(/^aws (\S+ (?:remove-targets|delete-\S+))/gm)].map((m) => m[1])
  t.same(deletes, ['events remove-targets', 'events delete-rule', 'events delete-api-destination', 'events delete-connection', 'iam delete-role-policy', 'iam delete-role', 'sqs delete-queue'])
})

t.test('a real run creates what is missing and keeps the secret off every command line', async (t) => {
  const r = run(t, ['--endpoint', ENDPOINT], { CRON_SECRET: CANARY })
  t.equal(r.status, 0, r.stderr)
  const v = verbs(r.calls)
  for (const call of ['events create-connection', 'events create-api-destination', 'events put-rule', 'sqs create-queue', 'sqs set-queue-attributes', 'iam create-role', 'iam put-role-policy', 'events put-targets']) {
    t.ok(v.includes(call), call)
  }
  t.notOk(r.calls.some((c) => c.args.some((a) => a.includes(CANARY))), 'no argument holds the secret')
  t.notMatch(r.stdout + r.stderr, CANARY, 'nothing printed holds the secret')
  const auth = r.calls.find((c) => c.args[1] === 'create-connection')
  const authFile = Object.entries(auth?.files ?? {})[0]
  t.same(JSON.parse(authFile?.[1] ?? '{}'), { ApiKeyAuthParameters: { ApiKeyName: 'x-cron-secret', ApiKeyValue: CANARY } }, 'the secret reaches AWS through a file')
  t.notOk(existsSync((authFile?.[0] ?? 'file://').slice(7)), 'the secret file is removed on exit')
  const targets = r.calls.find((c) => c.args[1] === 'put-targets')
  t.match(JSON.parse(Object.values(targets?.files ?? {})[0] ?? '[]'), [{
    Arn: /api-destination\/oauth-refresher-refresh-destination\/def$/,
    RoleArn: 'arn:aws:iam::123456789012:role/oauth-refresher-refresh-invoke-role',
    DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:123456789012:oauth-refresher-refresh-dlq' }
  }])
})

t.test('regression: AWS CLI v1 downloads an https:// parameter value instead of sending it', async (t) => {
  // `--invocation-endpoint https://…` made aws-cli 1.x fetch the cron URL ("Unable to retrieve"); the
  // endpoint now travels in --cli-input-json. Only --queue-url is exempt from that behaviour.
  const r = run(t, ['--endpoint', ENDPOINT], { CRON_SECRET: CANARY })
  t.equal(r.status, 0, r.stderr)
  for (const c of r.calls) {
    c.args.forEach((a, i) => {
      if (/^https?:\/\//.test(a)) t.equal(c.args[i - 1], '--queue-url', `${c.args.slice(0, 2).join(' ')}: ${a} is not a plain parameter`)
    })
  }
  const destination = r.calls.find((c) => c.args[1] === 'create-api-destination')
  t.match(JSON.parse(Object.values(destination?.files ?? {})[0] ?? '{}'), { InvocationEndpoint: ENDPOINT, HttpMethod: 'GET' })
})

t.test('a second real run, with everything in place, updates and creates nothing', async (t) => {
  const r = run(t, ['--endpoint', ENDPOINT], { CRON_SECRET: CANARY, FAKE_AWS_EXISTS: '1' })
  t.equal(r.status, 0, r.stderr)
  const v = verbs(r.calls)
  t.same(v.filter((c) => / create-/.test(c)), [], 'no create call')
  t.ok(v.includes('events update-connection') && v.includes('events update-api-destination') && v.includes('iam update-assume-role-policy'))
})

t.test('the secret can come from SSM, and is not echoed', async (t) => {
  const r = run(t, ['--endpoint', ENDPOINT, '--secret-ssm-param', '/oauth-refresher/cron-secret'], { FAKE_SSM_VALUE: CANARY })
  t.equal(r.status, 0, r.stderr)
  t.ok(verbs(r.calls).includes('ssm get-parameter'))
  t.ok(r.calls.find((c) => c.args[0] === 'ssm')?.args.includes('--with-decryption'))
  t.notMatch(r.stdout + r.stderr, CANARY)
  t.ok(r.calls.some((c) => Object.values(c.files).some((f) => f.includes(CANARY))), 'the SSM value is what the connection gets')
})

t.test('refuses to run without a secret, with a list of secrets, or without an https endpoint', async (t) => {
  t.not(run(t, ['--endpoint', ENDPOINT]).status, 0, 'no secret')
  const list = run(t, ['--endpoint', ENDPOINT], { CRON_SECRET: `${CANARY},other-secret-value` })
  t.not(list.status, 0, 'a comma-separated list')
  t.notMatch(list.stdout + list.stderr, CANARY)
  t.not(run(t, ['--endpoint', 'http://insecure.example/api/cron/refresh-oauth'], { CRON_SECRET: CANARY }).status, 0, 'plain http')
})
