// The caller's request body on its way upstream, capped at PROXY_MAX_BODY_BYTES. A small body
// (declared Content-Length up to REPLAYABLE_BODY_BYTES) is read whole first, so the one retry after a
// refused token can send it again; a larger or chunked body is streamed through with backpressure,
// counted as it goes, and is not replayed (its call is not retried: the proxy refreshes the token
// and answers the provider's refusal). Memory per call stays at most 64 KiB plus the stream's buffers.
import type { Readable, Writable } from 'node:stream'

/** Bodies up to this size are kept for the retry (API writes: JSON and forms, not media). */
const REPLAYABLE_BODY_BYTES = 64 * 1024

/** The caller sent more than PROXY_MAX_BODY_BYTES (declared or counted while streaming). */
export class BodyTooLargeError extends Error {
  constructor () {
    super('request body over the proxy limit')
    this.name = 'BodyTooLargeError'
  }
}

export interface RequestBody {
  readonly present: boolean
  /** The length sent upstream as Content-Length (undefined: chunked). */
  readonly length: number | undefined
  /** Writes the body into `sink` and ends it. Rejects with BodyTooLargeError past the cap. */
  writeTo (sink: Writable): Promise<void>
  /** Whether writeTo may be called again (the body was kept whole). */
  readonly replayable: boolean
  /** Stops reading the caller's body (the call ended early); what was not read is left to the server. */
  stop (): void
}

const EMPTY: RequestBody = {
  present: false,
  length: undefined,
  replayable: true,
  writeTo: async (sink) => { sink.end() },
  stop: () => {}
}

/**
 * The caller's body: `source` is the raw request stream (never destroyed here: the route still
 * answers on its socket), `declared` its Content-Length header, `hasBody` whether it sent one at all.
 * A declared length over `maxBytes` throws BodyTooLargeError before anything is read.
 */
export async function readRequestBody (source: Readable, declared: string | undefined, hasBody: boolean, maxBytes: number): Promise<RequestBody> {
  const length = declared === undefined || !/^\d{1,15}$/.test(declared) ? undefined : Number(declared)
  if (!hasBody || length === 0) return EMPTY
  if (length !== undefined && length > maxBytes) throw new BodyTooLargeError()
  if (length !== undefined && length <= REPLAYABLE_BODY_BYTES) {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of unowned(source)) {
      size += (chunk as Buffer).length
      if (size > maxBytes) throw new BodyTooLargeError()
      chunks.push(chunk as Buffer)
    }
    const whole = Buffer.concat(chunks)
    return { present: true, length: whole.length, replayable: true, writeTo: async (sink) => { sink.end(whole) }, stop: () => {} }
  }
  return streamedBody(source, length, maxBytes)
}

function streamedBody (source: Readable, length: number | undefined, maxBytes: number): RequestBody {
  let stopped = false
  let used = false
  return {
    present: true,
    length,
    replayable: false,
    stop: () => { stopped = true },
    async writeTo (sink) {
      if (used) throw new Error('a streamed body is sent once')
      used = true
      let size = 0
      for await (const chunk of unowned(source)) {
        if (stopped || sink.destroyed) return
        size += (chunk as Buffer).length
        if (size > maxBytes) throw new BodyTooLargeError()
        if (!sink.write(chunk)) await drained(sink)
      }
      if (!stopped && !sink.destroyed) sink.end()
    }
  }
}

/** Leaving the loop early must not destroy the caller's request: its socket still carries our answer. */
function unowned (source: Readable): AsyncIterable<unknown> {
  return source.iterator({ destroyOnReturn: false })
}

/** Waits for `sink` to take more, or to be gone (then the loop above stops). */
async function drained (sink: Writable): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off('drain', done)
      sink.off('close', done)
      resolve()
    }
    sink.once('drain', done)
    sink.once('close', done)
  })
}
