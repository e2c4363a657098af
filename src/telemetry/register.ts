// The first import of src/server.ts: starts the OpenTelemetry SDK when OTEL_EXPORTER_OTLP_ENDPOINT is
// set, before Fastify and the AWS SDK are loaded (their instrumentation hooks `require`). Unset, it
// does nothing and no SDK module is loaded.
// Synchronous on purpose: a top-level await here would not hold back the sibling imports of
// server.ts (ES modules evaluate them meanwhile), and the AWS SDK would load unhooked. This works
// however the process is started (npm start, node dist/server.js, node --import tsx src/server.ts):
// no --import preload to forget.
import { createRequire } from 'node:module'
import { startTracingSdk } from './sdk.js'
import { tracingSettings } from './settings.js'

const settings = tracingSettings(process.env)
if (settings !== undefined) startTracingSdk(settings, createRequire(import.meta.url))
