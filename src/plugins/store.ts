// Decorates the instance with the DynamoDB clients and the token store; closes the client on close.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createCipher } from '../store/crypto.js'
import { createDynamoClients, type DynamoClients } from '../store/dynamodb-client.js'
import { createTokenStore, type TokenStore } from '../store/token-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    dynamo: DynamoClients
    tokenStore: TokenStore
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
  app.decorate('tokenStore', createTokenStore({
    doc: dynamo.doc,
    table: config.tokensTable,
    cipher: createCipher(config.encryptionKeys),
    now: app.clock,
    connectionEvents: config.reauthWebhook.url !== undefined
  }))
  if (owned) app.addHook('onClose', async () => { dynamo.client.destroy() })
}

export default fp(storePlugin, { name: 'store', dependencies: ['config'] })
