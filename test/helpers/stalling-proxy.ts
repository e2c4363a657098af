// A TCP proxy on 127.0.0.1 in front of DynamoDB Local that can stop answering: once stalled it still
// accepts connections and reads every byte, but forwards nothing and never replies, the way a paused
// or black-holed DynamoDB looks to a client (a refused connection fails fast and proves nothing).
import { createServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface StallingProxy {
  readonly endpoint: string
  /** From now on, nothing is forwarded in either direction, on new and open connections alike. */
  stall (): void
}

export async function stallingProxy (t: Test, target: string): Promise<StallingProxy> {
  const upstream = new URL(target)
  let stalled = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    sockets.add(client)
    const remote = connect(Number(upstream.port), upstream.hostname)
    sockets.add(remote)
    client.on('data', (chunk: Buffer) => { if (!stalled) remote.write(chunk) })
    remote.on('data', (chunk: Buffer) => { if (!stalled) client.write(chunk) })
    const close = (): void => { client.destroy(); remote.destroy(); sockets.delete(client); sockets.delete(remote) }
    client.on('close', close).on('error', close)
    remote.on('close', () => { if (!stalled) close() }).on('error', () => { if (!stalled) close() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall () { stalled = true }
  }
}
