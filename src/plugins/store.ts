// Decorates the instance with the DynamoDB clients, the token store and the connect flow's one-time
// state store (one cipher for both); closes the client on close.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createCipher } from '../store/crypto.js'
import { createDynamoClients, type DynamoClients } from '../store/dynamodb-client.js'
import { createOAuthStateStore, type OAuthStateStore } from '../store/oauth-state.js'
import { createTokenStore, type TokenStore } from '../store/token-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    dynamo: DynamoClients
    tokenStore: TokenStore
    oauthStates: OAuthStateStore
  }
}

export interface StorePluginOptions {
  /** Clients made elsewhere (tests that stop the store); closed by their owner. */
  readonly dynamo?: DynamoClients | undefined
}

const storePlugin: FastifyPluginAsync<StorePluginOptions> = async (app, opts) => {
  const { config } = app
  const owned = opts.dynamo === undefined
  const dynamo = opts.dynamo ?? createDynamoClients({ region: config.aws.region, endpoint: config.aws.dynamodbEndpoint })
  app.decorate('dynamo', dynamo)
  const cipher = createCipher(config.encryptionKeys)
  app.decorate('tokenStore', createTokenStore({ doc: dynamo.doc, table: config.tokensTable, cipher, now: app.clock, connectionEvents: config.reauthWebhook.url !== undefined }))
  app.decorate('oauthStates', createOAuthStateStore({ doc: dynamo.doc, table: config.tokensTable, cipher, now: app.clock }))
  if (owned) app.addHook('onClose', async () => { dynamo.client.destroy() })
}

export default fp(storePlugin, { name: 'store', dependencies: ['config'] })
