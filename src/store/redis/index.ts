import type { ClusterOptions, RedisOptions } from 'ioredis'
import type { Clock } from '../../clock.js'
import { loadKeyRing, type KeyRing } from '../keys.js'
import type { StoreBus, StoredToken, TokenStore } from '../types.js'
import { RedisBus } from './bus.js'
import { RedisConnection } from './connection.js'
import { RedisKeyspace } from './keyspace.js'
import { RedisLock } from './lock.js'
import { RedisMaintenance } from './maintenance.js'
import { RedisRecords } from './records.js'
import { SealedValues } from './sealed-values.js'

export { redisLocation } from './client.js'

export interface RedisTokenStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). The password never appears in messages. */
  readonly url: string
  /** Put before every key and channel name, so several gateways (or tests) can share one Redis. Default `c66p:`. */
  readonly keyPrefix?: string
  readonly keys: KeyRing
  /** Decides expiry of one-time values and documents. Lock waits and backoff use real time. */
  readonly clock: Clock
  /**
   * Passed to ioredis over this store's defaults: Sentinel (`sentinels`, `name`, `sentinelPassword`;
   * the URL then only carries the password and database), TLS details (`tls`), or tighter timeouts
   * for tests. With `clusterOptions`, these apply to every cluster node.
   */
  readonly redisOptions?: RedisOptions
  /**
   * Use Redis Cluster: the URL names one node to discover the others from, and these options go to
   * ioredis's Cluster (`{}` for its defaults; `natMap`, `dnsLookup`, `scaleReads`…).
   */
  readonly clusterOptions?: ClusterOptions
  /** How long withLock waits before `store_locked`. Default 15 s. */
  readonly lockTimeoutMs?: number
  /**
   * How long a lock outlives a holder that stopped extending it (a crashed replica). Default 10 s;
   * a live holder extends it every third of that, so long work keeps it.
   */
  readonly lockTtlMs?: number
}

/**
 * The gateway's shared store: the TokenStore contract over Redis, for several replicas. It composes
 * the connection (and what an outage means, connection.ts), the sealed records (records.ts), the
 * store-wide check and reseal (maintenance.ts), the lock (lock.ts) and pub/sub (bus.ts), all under
 * one key prefix (keyspace.ts).
 *
 * Needs Redis 6.2 or newer (GETDEL, SET KEEPTTL). The gateway's Redis must persist (AOF or RDB):
 * it holds the members, their sealed tokens and the key hashes.
 */
export class RedisTokenStore implements TokenStore {
  readonly kind = 'redis' as const
  /** The URL without credentials or query. */
  readonly location: string
  readonly #bus: RedisBus
  readonly #connection: RedisConnection
  readonly #records: RedisRecords
  readonly #maintenance: RedisMaintenance
  readonly #lock: RedisLock

  constructor(options: RedisTokenStoreOptions) {
    const connection = new RedisConnection(options)
    const keyspace = new RedisKeyspace(connection, options.keyPrefix ?? 'c66p:')
    const values = new SealedValues(options.keys, options.clock, connection.location)
    this.location = connection.location
    this.#connection = connection
    this.#records = new RedisRecords(connection, keyspace, values, options.clock)
    this.#maintenance = new RedisMaintenance(connection, keyspace, values)
    this.#lock = new RedisLock(connection, { prefix: keyspace.prefix, timeoutMs: options.lockTimeoutMs ?? 15_000, ttlMs: options.lockTtlMs ?? 10_000 })
    this.#bus = new RedisBus(connection, keyspace.prefix)
  }

  check(): Promise<void> {
    return this.#maintenance.check()
  }
  reseal(): Promise<number> {
    return this.#maintenance.reseal()
  }
  getToken(caller: string): Promise<StoredToken | undefined> {
    return this.#records.getToken(caller)
  }
  putToken(caller: string, token: StoredToken): Promise<void> {
    return this.#records.putToken(caller, token)
  }
  deleteToken(caller: string): Promise<boolean> {
    return this.#records.deleteToken(caller)
  }
  listCallers(): Promise<string[]> {
    return this.#records.listCallers()
  }
  putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    return this.#records.putOnce(namespace, id, value, ttlMs)
  }
  takeOnce(namespace: string, id: string): Promise<string | undefined> {
    return this.#records.takeOnce(namespace, id)
  }
  putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    return this.#records.putDoc(namespace, id, value, ttlMs)
  }
  getDoc(namespace: string, id: string): Promise<string | undefined> {
    return this.#records.getDoc(namespace, id)
  }
  deleteDoc(namespace: string, id: string): Promise<boolean> {
    return this.#records.deleteDoc(namespace, id)
  }
  listDocs(namespace: string): Promise<Array<{ id: string; value: string }>> {
    return this.#records.listDocs(namespace)
  }
  withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.#lock.withLock(name, work)
  }
  get bus(): StoreBus {
    return this.#bus
  }

  async close(): Promise<void> {
    if (this.#connection.closed) return
    // Marks the store closed before anything is awaited: every later call is refused at once.
    const disconnecting = this.#connection.close()
    this.#lock.close()
    await Promise.all([disconnecting, this.#bus.close()])
  }
}

/**
 * Opens the gateway's Redis store from its URL and the environment: the key ring must be given
 * (C66_PROXY_SECRET or C66_PROXY_SECRET_FILE; a shared store never generates one), and the store is
 * checked, so a Redis that is unreachable or sealed with another secret stops the caller here.
 */
export async function openRedisStore(settings: {
  readonly url: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly clock: Clock
  readonly keyPrefix?: string
  readonly redisOptions?: RedisOptions
  readonly clusterOptions?: ClusterOptions
}): Promise<RedisTokenStore> {
  const keys = await loadKeyRing({ env: settings.env, storeDir: '', allowGeneratedKey: false })
  const store = new RedisTokenStore({
    url: settings.url,
    keys,
    clock: settings.clock,
    ...(settings.keyPrefix === undefined ? {} : { keyPrefix: settings.keyPrefix }),
    ...(settings.redisOptions === undefined ? {} : { redisOptions: settings.redisOptions }),
    ...(settings.clusterOptions === undefined ? {} : { clusterOptions: settings.clusterOptions }),
  })
  try {
    await store.check()
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}
