// Decorates the instance with the DynamoDB clients, the token store and the connect flow's one-time
// state store (one cipher for both); closes the client on close. The cipher's KMS-wrapped keys are
// unwrapped here, before anything can read or write a token: KMS refusing fails the registration.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../config.js'
import { createKmsClient } from '../keys/kms-client.js'
import { unwrapKeys } from '../keys/unwrap-keys.js'
import { createCipher, isWrappedKey, type EncryptionKey } from '../store/crypto.js'
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
  const cipher = createCipher(await unwrappedKeys(config))
  const owned = opts.dynamo === undefined
  const dynamo = opts.dynamo ?? createDynamoClients({ region: config.aws.region, endpoint: config.aws.dynamodbEndpoint })
  app.decorate('dynamo', dynamo)
  app.decorate('tokenStore', createTokenStore({ doc: dynamo.doc, table: config.tokensTable, cipher, now: app.clock, connectionEvents: config.reauthWebhook.url !== undefined }))
  app.decorate('oauthStates', createOAuthStateStore({ doc: dynamo.doc, table: config.tokensTable, cipher, now: app.clock }))
  if (owned) app.addHook('onClose', async () => { dynamo.client.destroy() })
}

export default fp(storePlugin, { name: 'store', dependencies: ['config'] })

/** The configured keys, unwrapped; a KMS client exists only for as long as a wrapped entry needs it. */
async function unwrappedKeys (config: Config): Promise<EncryptionKey[]> {
  if (!config.encryptionKeys.some(isWrappedKey)) return await unwrapKeys(config.encryptionKeys)
  const kms = createKmsClient({ region: config.kms.region, endpoint: config.kms.endpoint })
  try {
    return await unwrapKeys(config.encryptionKeys, { kms, kmsKeyId: config.kms.keyId })
  } finally {
    kms.destroy()
  }
}
