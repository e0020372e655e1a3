import { join } from 'node:path'
import type { Clock } from './clock.js'
import type { Config } from './config/types.js'
import type { OAuthClient } from './oauth/client.js'
import { LazyFileStore } from './store/lazy-file-store.js'
import type { TokenStore } from './store/types.js'

/** What opening the store needs: a full Config, or the admin commands' StoreConfig. */
export type StoreSettings = Pick<Config, 'store' | 'dataDir' | 'secretEnv' | 'mode'>

/** The embedded store of local mode: `<dataDir>/store.json`, created on first write. */
export function localStore(config: StoreSettings, clock: Clock): TokenStore {
  // A generated key file is for one user's machine; a shared gateway must be given its secret.
  return new LazyFileStore({ path: join(config.dataDir, 'store.json'), env: config.secretEnv(), allowGeneratedKey: config.mode === 'local', clock })
}

/** The configured store: the embedded file store, or Redis shared by every gateway replica. */
export async function openStore(config: StoreSettings, clock: Clock): Promise<TokenStore> {
  if (config.store.kind === 'redis') {
    // Loaded only when used: local mode never pays for ioredis in memory or start-up time.
    const { openRedisStore } = await import('./store/redis/index.js')
    // `"cluster": true` (or an object of ioredis ClusterOptions) in --redis-options selects Redis Cluster.
    const { cluster, ...redisOptions } = config.store.options
    return openRedisStore({
      url: config.store.url,
      env: config.secretEnv(),
      clock,
      redisOptions,
      ...(cluster ? { clusterOptions: cluster === true ? {} : (cluster as object) } : {}),
    })
  }
  return localStore(config, clock)
}

/** The OAuth client when one is configured (--client-id), else undefined: personal tokens only. */
export async function oauthClientFor(config: Config, clock: Clock, fetchImpl?: typeof fetch): Promise<OAuthClient | undefined> {
  const o = config.oauth
  if (o.clientId === undefined) return undefined
  // Loaded only when OAuth is configured: a proxy fed by a personal token never loads oauth4webapi.
  const { createOAuthClient } = await import('./oauth/client.js')
  return createOAuthClient(
    { upstream: config.upstream, clientId: o.clientId, clientSecret: o.clientSecret, clientAuth: o.clientAuth, scopes: o.scopes, timeoutMs: o.timeoutMs },
    clock,
    fetchImpl,
  )
}
