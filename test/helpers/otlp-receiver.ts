// A real OTLP/HTTP trace receiver on 127.0.0.1 for the tracing tests: accepts POST /v1/traces as
// http/protobuf or http/json (as a collector does), keeps every raw body (canaries are searched in
// the bytes as sent) and decodes the spans. The protobuf decoder below reads the wire format by hand
// (field numbers from opentelemetry-proto's trace.proto and common.proto): nothing of the SDK is
// used to read what the SDK wrote.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import type { Test } from 'tap'

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  /** '' for a root span. */
  readonly parentSpanId: string
  readonly name: string
  /** 1 internal, 2 server, 3 client (OTLP's SpanKind). */
  readonly kind: number
  readonly attributes: Readonly<Record<string, AttributeValue>>
  readonly status: { readonly code: number, readonly message: string }
  readonly events: ReadonlyArray<{ readonly name: string, readonly attributes: Readonly<Record<string, AttributeValue>> }>
  readonly scope: string
  readonly resource: Readonly<Record<string, AttributeValue>>
}

export interface ReceivedExport {
  readonly contentType: string
  /** The body as it arrived (after gunzip when compressed), for canary searches. */
  readonly raw: Buffer
}

export class OtlpReceiver {
  readonly exports: ReceivedExport[] = []
  readonly spans: ReceivedSpan[] = []
  readonly errors: string[] = []
  #server: Server | undefined
  port = 0

  get endpoint (): string { return `http://127.0.0.1:${this.port}` }

  async listen (t: Test): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          this.errors.push(`${req.method ?? '?'} ${req.url ?? '?'}`)
          res.writeHead(404).end()
          return
        }
        let raw = Buffer.concat(chunks)
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
        const contentType = req.headers['content-type'] ?? ''
        this.exports.push({ contentType, raw })
        try {
          if (contentType.startsWith('application/json')) {
            this.spans.push(...decodeJson(JSON.parse(raw.toString('utf8')) as JsonRequest))
            res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
          } else {
            this.spans.push(...decodeProtobuf(raw))
            res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
          }
        } catch (err) {
          this.errors.push(`undecodable ${contentType}: ${(err as Error).message}`)
          res.writeHead(400).end()
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.#server = server
    this.port = (server.address() as AddressInfo).port
    t.teardown(() => this.close())
    return this
  }

  async close (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Everything received, as one string (canary searches). */
  get rawText (): string { return this.exports.map((e) => e.raw.toString('latin1')).join('\n') }

  named (name: string | RegExp): ReceivedSpan[] {
    return this.spans.filter((s) => typeof name === 'string' ? s.name === name : name.test(s.name))
  }

  childrenOf (parent: ReceivedSpan): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId)
  }

  /** Resolves once `test` holds over the spans received, or rejects after `timeoutMs`. */
  async waitFor (test: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!test(this.spans)) {
      if (Date.now() > deadline) throw new Error(`${what}: not received within ${timeoutMs} ms (${this.spans.length} spans: ${[...new Set(this.spans.map((s) => s.name))].join(', ')})`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

// ---- http/json ----

interface JsonAnyValue { stringValue?: string, boolValue?: boolean, intValue?: number | string, doubleValue?: number, arrayValue?: { values?: JsonAnyValue[] } }
interface JsonKeyValue { key: string, value?: JsonAnyValue }
interface JsonSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind?: number
  attributes?: JsonKeyValue[]
  status?: { code?: number, message?: string }
  events?: Array<{ name: string, attributes?: JsonKeyValue[] }>
}
interface JsonRequest {
  resourceSpans?: Array<{ resource?: { attributes?: JsonKeyValue[] }, scopeSpans?: Array<{ scope?: { name?: string }, spans?: JsonSpan[] }> }>
}

function jsonValue (v: JsonAnyValue | undefined): AttributeValue {
  if (v === undefined) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue)
  return undefined
}

function jsonAttributes (list: JsonKeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]))
}

function decodeJson (body: JsonRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = []
  for (const rs of body.resourceSpans ?? []) {
    const resource = jsonAttributes(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          attributes: jsonAttributes(s.attributes),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: jsonAttributes(e.attributes) })),
          scope: ss.scope?.name ?? '',
          resource
        })
      }
    }
  }
  return spans
}

// ---- http/protobuf ----

type Field = { readonly no: number, readonly wire: 0, readonly value: bigint } | { readonly no: number, readonly wire: 1 | 5, readonly value: Buffer } | { readonly no: number, readonly wire: 2, readonly value: Buffer }

function varint (buf: Buffer, at: number): [bigint, number] {
  let result = 0n
  let shift = 0n
  for (;;) {
    const byte = buf[at++]
    if (byte === undefined) throw new Error('truncated varint')
    result |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [result, at]
    shift += 7n
  }
}

function fields (buf: Buffer): Field[] {
  const out: Field[] = []
  let at = 0
  while (at < buf.length) {
    const [tag, next] = varint(buf, at)
    at = next
    const no = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if (wire === 0) {
      const [value, after] = varint(buf, at)
      at = after
      out.push({ no, wire, value })
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4
      out.push({ no, wire, value: buf.subarray(at, at + size) })
      at += size
    } else if (wire === 2) {
      const [length, after] = varint(buf, at)
      const end = after + Number(length)
      if (end > buf.length) throw new Error('truncated field')
      out.push({ no, wire, value: buf.subarray(after, end) })
      at = end
    } else {
      throw new Error(`unexpected wire type ${wire}`)
    }
  }
  return out
}

const bytesOf = (fs: Field[], no: number): Buffer[] => fs.filter((f) => f.no === no && f.wire === 2).map((f) => f.value as Buffer)
const first = (fs: Field[], no: number): Field | undefined => fs.find((f) => f.no === no)
const str = (fs: Field[], no: number): string => bytesOf(fs, no)[0]?.toString('utf8') ?? ''
const num = (fs: Field[], no: number): number => { const f = first(fs, no); return f?.wire === 0 ? Number(f.value) : 0 }

function anyValue (buf: Buffer): AttributeValue {
  const f = fields(buf)[0]
  if (f === undefined) return undefined
  if (f.no === 1 && f.wire === 2) return f.value.toString('utf8')
  if (f.no === 2 && f.wire === 0) return f.value !== 0n
  if (f.no === 3 && f.wire === 0) return Number(BigInt.asIntN(64, f.value))
  if (f.no === 4 && f.wire === 1) return f.value.readDoubleLE(0)
  if (f.no === 5 && f.wire === 2) return bytesOf(fields(f.value), 1).map(anyValue)
  return undefined
}

function pbAttributes (list: Buffer[]): Record<string, AttributeValue> {
  return Object.fromEntries(list.map((kv) => {
    const fs = fields(kv)
    const value = bytesOf(fs, 2)[0]
    return [str(fs, 1), value === undefined ? undefined : anyValue(value)]
  }))
}

function decodeProtobuf (raw: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = []
  for (const rsBuf of bytesOf(fields(raw), 1)) {
    const rs = fields(rsBuf)
    const resourceBuf = bytesOf(rs, 1)[0]
    const resource = resourceBuf === undefined ? {} : pbAttributes(bytesOf(fields(resourceBuf), 1))
    for (const ssBuf of bytesOf(rs, 2)) {
      const ss = fields(ssBuf)
      const scopeBuf = bytesOf(ss, 1)[0]
      const scope = scopeBuf === undefined ? '' : str(fields(scopeBuf), 1)
      for (const spanBuf of bytesOf(ss, 2)) {
        const s = fields(spanBuf)
        const statusBuf = bytesOf(s, 15)[0]
        const status = statusBuf === undefined ? [] : fields(statusBuf)
        spans.push({
          traceId: bytesOf(s, 1)[0]?.toString('hex') ?? '',
          spanId: bytesOf(s, 2)[0]?.toString('hex') ?? '',
          parentSpanId: bytesOf(s, 4)[0]?.toString('hex') ?? '',
          name: str(s, 5),
          kind: num(s, 6),
          attributes: pbAttributes(bytesOf(s, 9)),
          status: { code: num(status, 3), message: str(status, 2) },
          events: bytesOf(s, 11).map((e) => { const ef = fields(e); return { name: str(ef, 2), attributes: pbAttributes(bytesOf(ef, 3)) } }),
          scope,
          resource
        })
      }
    }
  }
  return spans
}
