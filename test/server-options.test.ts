// trustProxy (issue 14): `true` took any client's X-Forwarded-For as its address. Now only the proxies
// TRUST_PROXY names are believed, through the real serverOptions.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { serverOptions } from '../src/server-options.js'
import { testConfig } from './helper.js'

async function clientIp (t: Test, trustProxy: string | undefined, forwardedFor: string): Promise<string> {
  const app = Fastify(serverOptions(testConfig({ TRUST_PROXY: trustProxy })))
  t.teardown(() => app.close())
  app.get('/ip', async (request) => ({ ip: request.ip }))
  const res = await app.inject({ url: '/ip', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': forwardedFor } })
  return (res.json() as { ip: string }).ip
}

t.test('X-Forwarded-For is believed only as far as TRUST_PROXY goes', async (t) => {
  t.equal(await clientIp(t, undefined, '203.0.113.9'), '10.1.2.3', 'unset: the socket address, the header ignored')
  t.equal(await clientIp(t, '1', '198.51.100.7, 203.0.113.9'), '203.0.113.9', 'one hop: the address the proxy saw')
  t.equal(await clientIp(t, '2', '198.51.100.7, 203.0.113.9'), '198.51.100.7', 'two hops')
  t.equal(await clientIp(t, '10.0.0.0/8', '198.51.100.7, 203.0.113.9'), '203.0.113.9', 'a CIDR: trusted proxy, then the first untrusted address')
  t.equal(await clientIp(t, '192.168.0.0/16', '203.0.113.9'), '10.1.2.3', 'a socket outside the CIDR: its header is not believed')
})
