#!/usr/bin/env bash
# Lays out the Amplify Hosting deployment bundle (.amplify-hosting/) from a built dist/:
# compute/default holds dist/, package.json and production-only node_modules; deploy-manifest.json
# sends every path to that Node 24 compute (nodejs24.x, the newest runtime Amplify Hosting compute
# offers) (it listens on port 3000, the service's default PORT).
# @see https://docs.aws.amazon.com/amplify/latest/userguide/ssr-deployment-specification.html
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.amplify-hosting"
dist="$root/dist"
install=true

usage() { echo "usage: $0 [--out DIR] [--dist DIR] [--skip-install]" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { usage; exit 2; }; out="$2"; shift ;;
    --dist) [ $# -ge 2 ] || { usage; exit 2; }; dist="$2"; shift ;;
    --skip-install) install=false ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
  shift
done

if [ ! -f "$dist/server.js" ]; then
  echo "$dist/server.js is missing: run \`npm run build\` first" >&2
  exit 1
fi

compute="$out/compute/default"
rm -rf "$out"
mkdir -p "$compute" "$out/static"
cp -R "$dist" "$compute/dist"
cp "$root/package.json" "$root/package-lock.json" "$compute/"
if [ "$install" = true ]; then
  # Production dependencies only, no install script: the `node` package (a second Node) and tsx are
  # dev dependencies, and Amplify's compute brings its own Node 24.
  (cd "$compute" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
fi

framework_version="$(node -p "require('$root/node_modules/fastify/package.json').version" 2>/dev/null || echo 5)"
cat > "$out/deploy-manifest.json" <<JSON
{
  "version": 1,
  "framework": { "name": "fastify", "version": "$framework_version" },
  "routes": [
    { "path": "/*", "target": { "kind": "Compute", "src": "default" } }
  ],
  "computeResources": [
    { "name": "default", "runtime": "nodejs24.x", "entrypoint": "dist/server.js" }
  ]
}
JSON
echo "wrote $out"
