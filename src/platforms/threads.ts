// Threads, on Meta's Graph wire (graph-platform.ts): code → short-lived token, th_exchange_token →
// 60-day token, refreshed with itself (th_refresh_token) once 24 h old, no revocation endpoint.
// @see https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
// @see https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
import { idString, optionalString } from './account-lookup.js'
import { defineGraphPlatform } from './graph-platform.js'
import { DAY_MS, type PlatformSpec } from './platform.js'
import type { GraphWire } from './wire.js'

export const threadsSpec = {
  name: 'threads',
  envPrefix: 'THREADS',
  clientIdVar: 'THREADS_CLIENT_ID',
  defaultUrls: {
    authorize: 'https://threads.net/oauth/authorize',
    token: 'https://graph.threads.net/oauth/access_token',
    exchange: 'https://graph.threads.net/access_token',
    refresh: 'https://graph.threads.net/refresh_access_token',
    userinfo: 'https://graph.threads.net/v1.0/me',
    api: 'https://graph.threads.net'
  },
  defaultScopes: ['threads_basic', 'threads_content_publish'],
  defaultRefreshWindowMs: 7 * DAY_MS,
  defaultRefreshConcurrency: 4,
  minRefreshAgeMs: DAY_MS,
  accessTokenIsGrant: true
} as const satisfies PlatformSpec

/** Threads' quirks, in its own wire names. */
export const THREADS_WIRE = {
  clientIdParam: 'client_id',
  scopeSeparator: ',',
  pkce: false,
  exchangeGrantType: 'th_exchange_token',
  refreshGrantType: 'th_refresh_token',
  userFields: 'id,username'
} as const satisfies GraphWire

export const threadsModule = defineGraphPlatform({
  spec: threadsSpec,
  wire: THREADS_WIRE,
  simulation: {
    tokenPrefix: 'THQ',
    user: () => ({ id: '25843500000000001', username: 'threads.fake' }),
    expiresInSec: 3_600,
    meFields: (user) => ({ id: user.id, username: user.username }),
    // Threads' code answer is flat and lists no permissions.
    codeAnswerListsPermissions: false,
    // A post container. @see https://developers.facebook.com/docs/threads/posts
    publish: { path: '/v1.0/me/threads', answer: (id) => ({ id }) }
  },
  pickAccount (body, codeEntry) {
    // /me's id is the Threads user id; the code answer's user_id is the same one.
    const id = idString(body.id) ?? idString(codeEntry.user_id)
    return id === undefined ? undefined : { id, username: optionalString(body.username) }
  }
})
