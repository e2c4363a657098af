// An HTTP proxy on 127.0.0.1 in front of DynamoDB Local that answers BatchGetItem the way DynamoDB
// does when it is throttled: some keys come back under `UnprocessedKeys` instead of `Responses`
// (DynamoDB Local never does so by itself). Every other call is passed through untouched. Each call is
// recorded by operation (and, for a single-item one, the item's userId): tests count reads on the wire.
// @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

type Key = Record<string, { S?: string }>
interface KeysAndAttributes { Keys: Key[], [other: string]: unknown }

export interface BatchGetProxy {
  readonly endpoint: string
  /** BatchGetItem calls seen, and how many keys each asked for. */
  readonly batchCalls: number[]
  /** Keys for which this answers true are sent back unprocessed (asked again with each call). */
  hold: (userId: string) => boolean
  /** Every call that went through, in order: `GetItem`, `UpdateItem`…, with the item's userId where the call names one item. */
  readonly calls: Array<{ readonly operation: string, readonly userId?: string | undefined }>
}

export async function batchGetProxy (t: Test, target: string): Promise<BatchGetProxy> {
  const upstream = new URL(target)
  const proxy: BatchGetProxy = { endpoint: '', batchCalls: [], hold: () => false, calls: [] }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      let body = Buffer.concat(chunks)
      const operation = String(req.headers['x-amz-target']).split('.').pop() ?? ''
      const { Key } = JSON.parse(body.toString() === '' ? '{}' : body.toString()) as { Key?: Key }
      proxy.calls.push({ operation, userId: Key?.userId?.S })
      const unprocessed: Record<string, KeysAndAttributes> = {}
      if (String(req.headers['x-amz-target']).endsWith('.BatchGetItem')) {
        const input = JSON.parse(body.toString()) as { RequestItems: Record<string, KeysAndAttributes> }
        const forwarded: Record<string, KeysAndAttributes> = {}
        for (const [table, ask] of Object.entries(input.RequestItems)) {
          proxy.batchCalls.push(ask.Keys.length)
          const held = ask.Keys.filter((k) => proxy.hold(k.userId?.S ?? ''))
          const rest = ask.Keys.filter((k) => !held.includes(k))
          if (held.length > 0) unprocessed[table] = { ...ask, Keys: held }
          if (rest.length > 0) forwarded[table] = { ...ask, Keys: rest }
        }
        if (Object.keys(forwarded).length === 0) {
          // Nothing left to ask DynamoDB Local: answer as DynamoDB does when it processed nothing.
          const answer = JSON.stringify({ Responses: Object.fromEntries(Object.keys(unprocessed).map((table) => [table, []])), UnprocessedKeys: unprocessed })
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(answer) }).end(answer)
          return
        }
        body = Buffer.from(JSON.stringify({ ...input, RequestItems: forwarded }))
      }
      forward(upstream, req.method ?? 'POST', req.url ?? '/', req.headers, body, (status, headers, answer) => {
        let out = answer
        if (Object.keys(unprocessed).length > 0) {
          const parsed = JSON.parse(answer.toString()) as { UnprocessedKeys?: Record<string, KeysAndAttributes> }
          out = Buffer.from(JSON.stringify({ ...parsed, UnprocessedKeys: { ...parsed.UnprocessedKeys, ...unprocessed } }))
        }
        const { 'content-length': _length, 'x-amz-crc32': _crc, ...rest } = headers
        res.writeHead(status, { ...rest, 'content-length': out.length }).end(out)
      }, (err) => { res.destroy(err) })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return Object.assign(proxy, { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
}

function forward (
  upstream: URL, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer,
  onAnswer: (status: number, headers: IncomingHttpHeaders, body: Buffer) => void, onError: (err: Error) => void
): void {
  const { host: _host, 'content-length': _length, ...rest } = headers
  const req = request({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...rest, 'content-length': body.length } }, (res) => {
    const chunks: Buffer[] = []
    res.on('data', (chunk: Buffer) => chunks.push(chunk))
    res.on('end', () => onAnswer(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)))
  })
  req.on('error', onError)
  req.end(body)
}
