// The platforms plugin sends PROVIDER_USER_AGENT (Reddit asks for one naming the app and its owner)
// on every provider call, and the default one when it is unset.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import configPlugin from '../../src/plugins/config.js'
import platformsPlugin from '../../src/plugins/platforms.js'
import { DEFAULT_USER_AGENT } from '../../src/platforms/provider-http.js'
import { RedditFake } from '../fakes/reddit.js'
import { testConfig, type Env } from '../helper.js'

async function withPlatforms (t: Test, env: Env) {
  const app = Fastify()
  await app.register(configPlugin, { config: testConfig(env) })
  await app.register(platformsPlugin, {})
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('PROVIDER_USER_AGENT reaches the provider; unset, the default does', async (t) => {
  const reddit = await RedditFake.start(t)
  const agent = 'web:com.huntaze.oauth-refresher:v1.0 (by /u/huntaze)'
  const seeded = reddit.seedGrant()
  const custom = await withPlatforms(t, { ...reddit.env(), PROVIDER_USER_AGENT: agent })
  t.match(await custom.platforms.reddit.refresh(seeded), { kind: 'refreshed' })
  const plain = await withPlatforms(t, reddit.env())
  t.match(await plain.platforms.reddit.refresh(seeded), { kind: 'refreshed' })
  t.same(reddit.requestsTo('refresh').map((r) => r.headers['user-agent']), [agent, DEFAULT_USER_AGENT])
})
