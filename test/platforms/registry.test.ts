// The registry holds one module per declared platform, each built from its own configuration.
import t from 'tap'
import { createProviderHttp } from '../../src/platforms/provider-http.js'
import { createPlatforms, PLATFORM_MODULES, PLATFORM_NAMES, PLATFORM_SPECS } from '../../src/platforms/registry.js'
import { testConfig } from '../helper.js'

t.test('one module per spec, in the registry', async (t) => {
  t.same(PLATFORM_MODULES.map((m) => m.spec.name).sort(), [...PLATFORM_NAMES].sort())
  t.same(PLATFORM_MODULES.map((m) => m.spec).sort((a, b) => a.name.localeCompare(b.name)), [...PLATFORM_SPECS].sort((a, b) => a.name.localeCompare(b.name)))
})

t.test('createPlatforms builds every platform from its configuration, configured or not', async (t) => {
  const config = testConfig({ REDDIT_CLIENT_ID: 'id', REDDIT_CLIENT_SECRET: 'secret', REDDIT_REDIRECT_URI: 'https://app.example.test/api/auth/reddit/callback' })
  const platforms = createPlatforms(config.platforms, createProviderHttp({ timeoutMs: 1_000 }))
  for (const name of PLATFORM_NAMES) {
    t.equal(platforms[name].name, name)
    t.equal(platforms[name].config, config.platforms[name])
  }
  t.equal(platforms.reddit.config.configured, true)
  t.equal(platforms.tiktok.config.configured, false)
  t.equal(platforms.tiktok.usesPkce, true)
  t.equal(platforms.reddit.usesPkce, false)
  t.equal(platforms.instagram.usesPkce, false)
})
