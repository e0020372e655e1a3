import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { ConfigError } from '../../errors.js'

export type Client = Redis | Cluster

export interface ClientOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). The password never appears in messages. */
  readonly url: string
  readonly redisOptions?: RedisOptions
  readonly clusterOptions?: ClusterOptions
}

/** Connecting (and each reconnect attempt) gives up after this long. */
export const CONNECT_TIMEOUT_MS = 2_000
/** A command without an answer after this long fails: a hung Redis must never hang a request. */
const COMMAND_TIMEOUT_MS = 2_000
/** Reconnect attempts back off up to this interval, so a returning Redis is found within about a second. */
const MAX_RECONNECT_DELAY_MS = 1_000

/** What messages call the store: the URL without credentials, or the sentinels and master name. */
export function locationOf(options: ClientOptions): string {
  // Validated in every case (a URL that is not redis:// is a configuration error).
  const urlLocation = redisLocation(options.url)
  const sentinels = options.redisOptions?.sentinels ?? []
  if (sentinels.length === 0) return urlLocation
  // With Sentinel the URL only carries credentials and the database: name what is really used.
  return `redis-sentinel://${sentinels.map((s) => `${s.host ?? 'localhost'}:${s.port ?? 26379}`).join(',')}/${options.redisOptions?.name ?? 'mymaster'}`
}

/**
 * The command connection (lazy, failing fast while down) and a factory for the subscriber
 * connection, for one server (or Sentinel, through redisOptions) or a Cluster.
 */
export function createClients(options: ClientOptions): { client: Client; newSubscriber: () => Client } {
  const retry = (attempt: number) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS)
  const connection: RedisOptions = { connectTimeout: CONNECT_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, retryStrategy: retry }
  // The subscriber connection queues its (re)subscriptions until Redis answers, for as long as that takes.
  const subscriberConnection: RedisOptions = { commandTimeout: undefined, maxRetriesPerRequest: null, autoResubscribe: true }
  if (options.clusterOptions === undefined) {
    // Fail fast while disconnected instead of queueing requests behind an outage.
    const client = new Redis(options.url, { ...connection, lazyConnect: true, enableOfflineQueue: false, ...options.redisOptions })
    return { client, newSubscriber: () => client.duplicate({ ...subscriberConnection, lazyConnect: false, enableOfflineQueue: true }) }
  }
  const seed = new URL(options.url)
  const nodeOptions: RedisOptions = {
    ...connection,
    ...(seed.username === '' ? {} : { username: decodeURIComponent(seed.username) }),
    ...(seed.password === '' ? {} : { password: decodeURIComponent(seed.password) }),
    ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
    ...options.redisOptions,
    ...options.clusterOptions.redisOptions,
  }
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    ...options.clusterOptions,
    redisOptions: nodeOptions,
  }
  const client = new Cluster([{ host: seed.hostname, port: seed.port === '' ? 6379 : Number(seed.port) }], clusterOptions)
  const subscriberOptions: ClusterOptions = {
    ...clusterOptions,
    lazyConnect: false,
    enableOfflineQueue: true,
    redisOptions: { ...nodeOptions, ...subscriberConnection },
  }
  return { client, newSubscriber: () => client.duplicate([], subscriberOptions) }
}

/** The URL to show: scheme, host, port and database; never the user name, password or query. */
export function redisLocation(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError([{ setting: 'C66_PROXY_STORE', message: 'is not a valid URL; expected redis://host:port or rediss://host:port' }])
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError([{ setting: 'C66_PROXY_STORE', message: `must be a redis:// or rediss:// URL (got a ${parsed.protocol} URL)` }])
  }
  parsed.username = ''
  parsed.password = ''
  parsed.search = ''
  parsed.hash = ''
  return parsed.toString()
}
