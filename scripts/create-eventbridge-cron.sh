#!/usr/bin/env bash
# Creates or updates (idempotent: describe, then create or update; never duplicates) the EventBridge
# scheduler of the OAuth token refresh: Connection (API key header x-cron-secret) -> API destination
# (GET, rate limited) <- rule rate(30 minutes) -> target with RetryPolicy and an SQS dead-letter queue
# (+ its queue policy), invoked through an IAM role allowed events:InvokeApiDestination only.
# --dry-run prints every AWS CLI call instead of running it; --delete removes all of it.
# The secret is read from $CRON_SECRET or SSM, never echoed, never on a command line (file:// input).
# @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html
# @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: create-eventbridge-cron.sh --endpoint URL [options]
       create-eventbridge-cron.sh --delete [options]
  --endpoint URL           the cron route, e.g. https://oauth-refresher.huntaze.com/api/cron/refresh-oauth
  --name PREFIX            resource name prefix (default: oauth-refresher-refresh)
  --region REGION          AWS region (default: the AWS CLI's configuration)
  --secret-ssm-param NAME  read the secret from this SSM SecureString (default: $CRON_SECRET)
  --schedule EXPR          schedule expression (default: rate(30 minutes))
  --state ENABLED|DISABLED rule state (default: ENABLED); schedulers can be switched independently
  --rate-limit N           API destination invocations per second (default: 1)
  --max-event-age SECONDS  RetryPolicy.MaximumEventAgeInSeconds (default: 900)
  --max-retries N          RetryPolicy.MaximumRetryAttempts (default: 2)
  --dry-run                print the AWS CLI calls, run nothing (the secret prints as ****)
  --assume-exists          with --dry-run: print the path taken when everything already exists
  --delete                 remove the target, rule, API destination, connection, role and queue
USAGE
}

name=oauth-refresher-refresh endpoint='' region='' ssm_param='' schedule='rate(30 minutes)' state=ENABLED
rate_limit=1 max_age=900 max_retries=2 dry_run=false assume_exists=false delete=false
while [ $# -gt 0 ]; do
  case "$1" in
    --endpoint|--name|--region|--secret-ssm-param|--schedule|--state|--rate-limit|--max-event-age|--max-retries)
      [ $# -ge 2 ] || { usage; exit 2; }
      case "$1" in
        --endpoint) endpoint="$2" ;; --name) name="$2" ;; --region) region="$2" ;;
        --secret-ssm-param) ssm_param="$2" ;; --schedule) schedule="$2" ;; --state) state="$2" ;;
        --rate-limit) rate_limit="$2" ;; --max-event-age) max_age="$2" ;; --max-retries) max_retries="$2" ;;
      esac
      shift ;;
    --dry-run) dry_run=true ;;
    --assume-exists) assume_exists=true ;;
    --delete) delete=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
  shift
done

fail() { echo "error: $*" >&2; exit 2; }
[[ "$name" =~ ^[A-Za-z0-9._-]{1,40}$ ]] || fail "--name must be 1-40 of [A-Za-z0-9._-]"
[[ "$state" == ENABLED || "$state" == DISABLED ]] || fail "--state is ENABLED or DISABLED"
[[ "$rate_limit" =~ ^[1-9][0-9]*$ && "$max_retries" =~ ^[0-9]+$ && "$max_age" =~ ^[0-9]+$ ]] || fail "numbers expected"
(( max_age >= 60 && max_age <= 86400 )) || fail "--max-event-age must be 60..86400"
(( max_retries <= 185 )) || fail "--max-retries must be 0..185"
if [ "$delete" = false ]; then
  [[ "$endpoint" =~ ^https://[^[:space:]]+$ ]] || fail "--endpoint https://… is required (API destinations call HTTPS only)"
fi
[ "$dry_run" = true ] || command -v aws >/dev/null 2>&1 || fail "the AWS CLI (aws) is needed"

connection="$name-connection" destination="$name-destination" rule="$name-rule"
queue="$name-dlq" role="$name-invoke-role" target_id=api-destination
region_args=()
[ -z "$region" ] || region_args=(--region "$region")

# Dry-run lines go to fd 3 (the real stdout), so the `>/dev/null` that quiets real calls keeps them.
exec 3>&1
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
chmod 700 "$workdir"

# One word of a printed command, quoted for a shell only when it must be.
quote() { if [[ "$1" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi; }

# Runs an AWS CLI call, or prints it in --dry-run. file:// arguments print their content inline,
# except the secret-bearing file, which prints as ****.
aws_run() {
  if [ "$dry_run" = true ]; then
    local out='aws' arg
    for arg in "$@" "${region_args[@]}"; do
      if [[ "$arg" == file://* ]]; then
        if [[ "$arg" == *"/auth-params.json" ]]; then arg='{"ApiKeyAuthParameters":{"ApiKeyName":"x-cron-secret","ApiKeyValue":"****"}}'
        else arg="$(tr -d '\n' < "${arg#file://}")"; fi
      fi
      out+=" $(quote "$arg")"
    done
    printf '%s\n' "$out" >&3
    return 0
  fi
  aws "$@" "${region_args[@]}"
}

# A read that decides create-or-update. In --dry-run it is printed and answers as --assume-exists says.
aws_exists() {
  if [ "$dry_run" = true ]; then
    aws_run "$@"
    if [ "$assume_exists" = true ]; then echo '# (dry run: assumed to exist)' >&3; return 0; fi
    echo '# (dry run: assumed absent)' >&3
    return 1
  fi
  aws "$@" "${region_args[@]}" >/dev/null 2>&1
}

# The value of a query on a call's output; a placeholder in --dry-run.
aws_value() {
  local placeholder="$1"; shift
  if [ "$dry_run" = true ]; then aws_run "$@" --output text; printf '<%s>' "$placeholder"; return; fi
  aws "$@" "${region_args[@]}" --output text
}

if [ "$dry_run" = true ]; then
  account=ACCOUNT_ID
  aws_region="${region:-REGION}"
else
  account="$(aws sts get-caller-identity --query Account --output text "${region_args[@]}")"
  aws_region="${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}}"
  [ -n "$aws_region" ] || fail "no region: pass --region or configure one"
fi
rule_arn="arn:aws:events:$aws_region:$account:rule/$rule"
destination_arns="arn:aws:events:$aws_region:$account:api-destination/$destination/*"
queue_arn="arn:aws:sqs:$aws_region:$account:$queue"
role_arn="arn:aws:iam::$account:role/$role"

if [ "$delete" = true ]; then
  if aws_exists events describe-rule --name "$rule"; then
    aws_run events remove-targets --rule "$rule" --ids "$target_id" >/dev/null || true
    aws_run events delete-rule --name "$rule"
  fi
  if aws_exists events describe-api-destination --name "$destination"; then aws_run events delete-api-destination --name "$destination"; fi
  if aws_exists events describe-connection --name "$connection"; then aws_run events delete-connection --name "$connection" >/dev/null; fi
  if aws_exists iam get-role --role-name "$role"; then
    aws_run iam delete-role-policy --role-name "$role" --policy-name invoke-api-destination || true
    aws_run iam delete-role --role-name "$role"
  fi
  if aws_exists sqs get-queue-url --queue-name "$queue"; then
    queue_url="$(aws_value QueueUrl sqs get-queue-url --queue-name "$queue" --query QueueUrl)"
    aws_run sqs delete-queue --queue-url "$queue_url"
  fi
  echo "deleted (where present): $rule, $destination, $connection, $role, $queue" >&2
  exit 0
fi

# The secret: SSM or the environment; one value (a header holds one secret; rotation is in docs/runbook.md).
if [ "$dry_run" = true ]; then
  [ -z "$ssm_param" ] || aws_run ssm get-parameter --name "$ssm_param" --with-decryption --query Parameter.Value --output text
  secret='****'
elif [ -n "$ssm_param" ]; then
  secret="$(aws ssm get-parameter --name "$ssm_param" --with-decryption --query Parameter.Value --output text "${region_args[@]}")"
else
  secret="${CRON_SECRET:-}"
fi
[ -n "$secret" ] || fail "no secret: set CRON_SECRET or pass --secret-ssm-param"
[[ "$secret" != *,* ]] || fail "give EventBridge one secret, not a comma-separated list"
json_string() { local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; printf '"%s"' "$s"; }
( umask 077; printf '{"ApiKeyAuthParameters":{"ApiKeyName":"x-cron-secret","ApiKeyValue":%s}}\n' "$(json_string "$secret")" > "$workdir/auth-params.json" )
unset secret

# 1) Connection: the API key header EventBridge adds to every call (stored in Secrets Manager by AWS).
if aws_exists events describe-connection --name "$connection"; then
  aws_run events update-connection --name "$connection" --authorization-type API_KEY --auth-parameters "file://$workdir/auth-params.json" >/dev/null
else
  aws_run events create-connection --name "$connection" --description "oauth-refresher cron secret" \
    --authorization-type API_KEY --auth-parameters "file://$workdir/auth-params.json" >/dev/null
fi
connection_arn="$(aws_value ConnectionArn events describe-connection --name "$connection" --query ConnectionArn)"

# 2) API destination: GET on the cron route, rate limited (the service's lock makes extra calls cheap).
# Passed as JSON input: AWS CLI v1 would otherwise try to download an https:// parameter value.
cat > "$workdir/destination.json" <<JSON
{"Name":$(json_string "$destination"),"ConnectionArn":$(json_string "$connection_arn"),"InvocationEndpoint":$(json_string "$endpoint"),"HttpMethod":"GET","InvocationRateLimitPerSecond":$rate_limit}
JSON
if aws_exists events describe-api-destination --name "$destination"; then
  aws_run events update-api-destination --cli-input-json "file://$workdir/destination.json" >/dev/null
else
  aws_run events create-api-destination --cli-input-json "file://$workdir/destination.json" >/dev/null
fi
destination_arn="$(aws_value ApiDestinationArn events describe-api-destination --name "$destination" --query ApiDestinationArn)"

# 3) Rule: put-rule creates or updates by name.
aws_run events put-rule --name "$rule" --schedule-expression "$schedule" --state "$state" \
  --description "oauth-refresher: GET /api/cron/refresh-oauth" >/dev/null

# 4) Dead-letter queue (14 days, SSE) and its policy: only this rule may send to it.
cat > "$workdir/queue-attributes.json" <<JSON
{"MessageRetentionPeriod":"1209600","SqsManagedSseEnabled":"true"}
JSON
if aws_exists sqs get-queue-url --queue-name "$queue"; then
  queue_url="$(aws_value QueueUrl sqs get-queue-url --queue-name "$queue" --query QueueUrl)"
  aws_run sqs set-queue-attributes --queue-url "$queue_url" --attributes "file://$workdir/queue-attributes.json"
else
  queue_url="$(aws_value QueueUrl sqs create-queue --queue-name "$queue" --attributes "file://$workdir/queue-attributes.json" --query QueueUrl)"
fi
policy="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"EventBridgeDeadLetters\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"events.amazonaws.com\"},\"Action\":\"sqs:SendMessage\",\"Resource\":\"$queue_arn\",\"Condition\":{\"ArnEquals\":{\"aws:SourceArn\":\"$rule_arn\"}}}]}"
printf '{"Policy":%s}\n' "$(json_string "$policy")" > "$workdir/queue-policy.json"
aws_run sqs set-queue-attributes --queue-url "$queue_url" --attributes "file://$workdir/queue-policy.json"

# 5) Invocation role: EventBridge (from this account) may assume it, and it may only invoke the destination.
cat > "$workdir/trust.json" <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"$account"}}}]}
JSON
cat > "$workdir/invoke.json" <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:InvokeApiDestination","Resource":"$destination_arns"}]}
JSON
if aws_exists iam get-role --role-name "$role"; then
  aws_run iam update-assume-role-policy --role-name "$role" --policy-document "file://$workdir/trust.json"
else
  aws_run iam create-role --role-name "$role" --assume-role-policy-document "file://$workdir/trust.json" \
    --description "EventBridge invokes the oauth-refresher API destination" >/dev/null
fi
aws_run iam put-role-policy --role-name "$role" --policy-name invoke-api-destination --policy-document "file://$workdir/invoke.json"

# 6) Target (same Id: put-targets updates it): bounded retries, then the dead-letter queue.
cat > "$workdir/targets.json" <<JSON
[{"Id":"$target_id","Arn":"$destination_arn","RoleArn":"$role_arn","RetryPolicy":{"MaximumRetryAttempts":$max_retries,"MaximumEventAgeInSeconds":$max_age},"DeadLetterConfig":{"Arn":"$queue_arn"}}]
JSON
aws_run events put-targets --rule "$rule" --targets "file://$workdir/targets.json" >/dev/null

echo "ready: $rule ($schedule, $state) -> $destination -> $endpoint; dead letters in $queue" >&2
