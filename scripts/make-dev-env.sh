#!/usr/bin/env bash
# Writes docker/dev.env for docker-compose.yml from docker/dev.env.example, with fresh random
# development secrets (mode 600, git-ignored, never printed). Refuses to overwrite without --force.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="$root/docker/dev.env.example"
target="$root/docker/dev.env"
force=false

usage() { echo "usage: $0 [--force] [--output FILE]" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=true ;;
    --output) [ $# -ge 2 ] || { usage; exit 2; }; target="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
  shift
done

if [ -e "$target" ] && [ "$force" != true ]; then
  echo "$target exists; keep it, or pass --force to replace its secrets" >&2
  exit 1
fi

random_b64() { node -e "process.stdout.write(require('node:crypto').randomBytes(Number(process.argv[1])).toString(process.argv[2]))" "$1" "$2"; }

cookie_secret="$(random_b64 32 base64url)"
encryption_key="dev1:$(random_b64 32 base64)"
cron_secret="$(random_b64 24 base64url)"
internal_key="$(random_b64 24 base64url)"

umask 077
tmp="$(mktemp "${target}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    COOKIE_SECRET=*) printf 'COOKIE_SECRET=%s\n' "$cookie_secret" ;;
    TOKEN_ENCRYPTION_KEY=*) printf 'TOKEN_ENCRYPTION_KEY=%s\n' "$encryption_key" ;;
    CRON_SECRET=*) printf 'CRON_SECRET=%s\n' "$cron_secret" ;;
    INTERNAL_API_KEY=*) printf 'INTERNAL_API_KEY=%s\n' "$internal_key" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$example" > "$tmp"
chmod 600 "$tmp"
mv "$tmp" "$target"
trap - EXIT
echo "wrote $target (secrets not shown; read them from the file when you need one)"
