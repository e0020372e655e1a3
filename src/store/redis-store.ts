import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { Clock } from '../clock.js'
import { ConfigError } from '../errors.js'
import { recordKey, sealedRecordSchema } from './document.js'
import { loadKeyRing, type KeyRing } from './keys.js'
import { deliver } from './local-bus.js'
import { KeyedMutex, MutexTimeout } from './mutex.js'
import { open, seal } from './sealer.js'
import { decodeDoc, decodeOnce, decodeToken, encodeDoc, encodeOnce, encodeToken } from './token-codec.js'
import { StoreError, type StoredToken, type TokenStore } from './types.js'

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

/** Connecting (and each reconnect attempt) gives up after this long. */
const CONNECT_TIMEOUT_MS = 2_000
/** A command without an answer after this long fails: a hung Redis must never hang a request. */
const COMMAND_TIMEOUT_MS = 2_000
/** Reconnect attempts back off up to this interval, so a returning Redis is found within about a second. */
const MAX_RECONNECT_DELAY_MS = 1_000
/** Redis drops expiring values this long after the clock says they expired (it is only garbage collection). */
const GC_GRACE_MS = 1_000
/** check() opens this many existing records, so a wrong secret stops start-up instead of every request. */
const CHECK_SAMPLE = 20
/** publish() waits at most this long for this store's own subscriptions to be confirmed first. */
const SUBSCRIBE_WAIT_MS = 2_000

const EXTEND_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`
/** Re-seal: replace a value only if it is still the one that was read, keeping its expiry. */
const SWAP_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 else return 0 end`
const DELETE_IF_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

/**
 * The gateway's shared store: the TokenStore contract over Redis, for several replicas.
 *
 * Layout: one string per record, `<prefix><record key>`, with the record keys of the file format
 * (`token:<caller>`, `once:<ns>:<id>`, `doc:<ns>:<id>`, see document.ts); locks are `<prefix>lock:<name>`
 * and channels `<prefix>chan:<channel>`. Every value is the JSON of a record sealed with AES-256-GCM
 * under the key ring, with the record key (without the prefix) as additional data: Redis never holds
 * a token, a one-time value or a document in the clear, and a value copied under another key does not
 * open. Pub/sub messages are not stored and not sealed: publish ids, never secrets.
 *
 * Expiry is decided by the store's clock against the expiry sealed inside the value; the `PX` Redis
 * is given (a little later) only collects the garbage.
 *
 * Outage: commands fail at once with `store_unavailable` ("Redis at <url> is unreachable") while the
 * connection is down (no offline queue), and after COMMAND_TIMEOUT_MS when Redis stops answering;
 * ioredis reconnects by itself with a capped backoff, so everything works again, subscriptions
 * included, when Redis returns, without recreating the store. The very first connection is awaited
 * (bounded), so a store used right after construction does not fail for being new.
 *
 * Needs Redis 6.2 or newer (GETDEL, SET KEEPTTL). The gateway's Redis must persist (AOF or RDB):
 * it holds the members, their sealed tokens and the key hashes.
 */
export class RedisTokenStore implements TokenStore {
  readonly kind = 'redis' as const
  /** The URL without credentials or query. */
  readonly location: string
  readonly #prefix: string
  readonly #keys: KeyRing
  readonly #clock: Clock
  readonly #client: Client
  readonly #lockTimeoutMs: number
  readonly #lockTtlMs: number
  readonly #localLocks = new KeyedMutex()
  readonly #extenders = new Set<NodeJS.Timeout>()
  #subscriber: Client | undefined
  readonly #newSubscriber: () => Client
  readonly #handlers = new Map<string, Set<Handler>>()
  readonly #pendingSubscribes = new Set<Promise<void>>()
  #firstConnect: Promise<void> | undefined
  #lastConnectionError: string | undefined
  #closed = false

  constructor(options: RedisTokenStoreOptions) {
    // Validated in every case (a URL that is not redis:// is a configuration error).
    const urlLocation = redisLocation(options.url)
    const sentinels = options.redisOptions?.sentinels ?? []
    this.location =
      sentinels.length === 0
        ? urlLocation
        : // With Sentinel the URL only carries credentials and the database: name what is really used.
          `redis-sentinel://${sentinels.map((s) => `${s.host ?? 'localhost'}:${s.port ?? 26379}`).join(',')}/${options.redisOptions?.name ?? 'mymaster'}`
    this.#prefix = options.keyPrefix ?? 'c66p:'
    this.#keys = options.keys
    this.#clock = options.clock
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 15_000
    this.#lockTtlMs = options.lockTtlMs ?? 10_000
    const retry = (attempt: number) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS)
    const connection: RedisOptions = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      retryStrategy: retry,
    }
    // The subscriber connection queues its (re)subscriptions until Redis answers, for as long as that takes.
    const subscriberConnection: RedisOptions = { commandTimeout: undefined, maxRetriesPerRequest: null, autoResubscribe: true }
    if (options.clusterOptions === undefined) {
      const client = new Redis(options.url, {
        ...connection,
        lazyConnect: true,
        // Fail fast while disconnected instead of queueing requests behind an outage.
        enableOfflineQueue: false,
        ...options.redisOptions,
      })
      this.#client = client
      this.#newSubscriber = () => client.duplicate({ ...subscriberConnection, lazyConnect: false, enableOfflineQueue: true })
    } else {
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
      this.#client = client
      this.#newSubscriber = () =>
        client.duplicate([], { ...clusterOptions, lazyConnect: false, enableOfflineQueue: true, redisOptions: { ...nodeOptions, ...subscriberConnection } })
    }
    this.#watch(this.#client)
  }

  async check(): Promise<void> {
    await this.#run('a write/read/delete check', async (c) => {
      const probe = this.#key(`probe:${randomBytes(8).toString('hex')}`)
      const value = randomBytes(16).toString('hex')
      await c.set(probe, value, 'PX', 60_000)
      const back = await c.get(probe)
      await c.del(probe)
      if (back !== value) {
        throw new StoreError('store_unavailable', `Redis at ${this.location} did not return what was just written to it; is it a read-only replica?`)
      }
    })
    // A sample of what is there must open: a wrong C66_PROXY_SECRET stops start-up here.
    let opened = 0
    for (const node of await this.#masters()) {
      const [, sample] = await this.#run('SCAN', () => node.scan('0', 'MATCH', `${escapeGlob(this.#prefix)}*`, 'COUNT', 200))
      for (const fullKey of sample) {
        const key = fullKey.slice(this.#prefix.length)
        if (!isRecordKey(key) || opened >= CHECK_SAMPLE) continue
        const raw = await this.#run('GET', (c) => c.get(fullKey))
        if (raw !== null) this.#decode(key, raw)
        opened++
      }
    }
  }

  async getToken(caller: string): Promise<StoredToken | undefined> {
    const key = recordKey.token(caller)
    const raw = await this.#run('GET', (c) => c.get(this.#key(key)))
    return raw === null ? undefined : decodeToken(this.#open(key, raw), key, this.location)
  }

  async putToken(caller: string, token: StoredToken): Promise<void> {
    const key = recordKey.token(caller)
    const value = this.#seal(key, encodeToken(token))
    await this.#run('SET', (c) => c.set(this.#key(key), value))
  }

  async deleteToken(caller: string): Promise<boolean> {
    return (await this.#run('DEL', (c) => c.del(this.#key(recordKey.token(caller))))) > 0
  }

  async listCallers(): Promise<string[]> {
    const callers: string[] = []
    for (const key of await this.#scan('token:')) {
      const caller = recordKey.callerOf(key)
      if (caller !== undefined) callers.push(caller)
    }
    return callers.sort()
  }

  async putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    const key = recordKey.once(namespace, id)
    const sealed = this.#seal(key, encodeOnce(value, this.#clock.now() + ttlMs))
    await this.#run('SET', (c) => c.set(this.#key(key), sealed, 'PX', gcAfter(ttlMs)))
  }

  async takeOnce(namespace: string, id: string): Promise<string | undefined> {
    const key = recordKey.once(namespace, id)
    // GETDEL: of two replicas taking the same value at once, exactly one gets it.
    const raw = await this.#run('GETDEL', (c) => c.getdel(this.#key(key)))
    if (raw === null) return undefined
    const once = decodeOnce(this.#open(key, raw), key, this.location)
    return this.#clock.now() < once.expiresAt ? once.value : undefined
  }

  async putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    const key = recordKey.doc(namespace, id)
    const expiresAt = ttlMs === undefined ? undefined : this.#clock.now() + ttlMs
    const sealed = this.#seal(key, encodeDoc(value, expiresAt))
    // A plain SET also drops the PX of a replaced expiring document.
    await this.#run('SET', (c) => (ttlMs === undefined ? c.set(this.#key(key), sealed) : c.set(this.#key(key), sealed, 'PX', gcAfter(ttlMs))))
  }

  async getDoc(namespace: string, id: string): Promise<string | undefined> {
    const key = recordKey.doc(namespace, id)
    const raw = await this.#run('GET', (c) => c.get(this.#key(key)))
    return raw === null ? undefined : this.#liveDoc(key, raw)
  }

  async deleteDoc(namespace: string, id: string): Promise<boolean> {
    const key = recordKey.doc(namespace, id)
    const raw = await this.#run('GETDEL', (c) => c.getdel(this.#key(key)))
    if (raw === null) return false
    try {
      // An expired document was already gone as far as anyone could see.
      return this.#liveDoc(key, raw) !== undefined
    } catch {
      // It was there, and is deleted, even if it no longer opens.
      return true
    }
  }

  async listDocs(namespace: string): Promise<Array<{ id: string; value: string }>> {
    const keys = await this.#scan(recordKey.docPrefix(namespace))
    const raws = await Promise.all(keys.map((key) => this.#run('GET', (c) => c.get(this.#key(key)))))
    const docs: Array<{ id: string; value: string }> = []
    keys.forEach((key, i) => {
      const id = recordKey.docIdOf(namespace, key)
      const raw = raws[i]
      // Deleted between the scan and the read: not there.
      if (id === undefined || raw === null || raw === undefined) return
      const value = this.#liveDoc(key, raw)
      if (value !== undefined) docs.push({ id, value })
    })
    return docs
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#assertOpen()
    const deadline = Date.now() + this.#lockTimeoutMs
    let freeLocal: () => void
    try {
      // This process's callers queue here first, so only one of them at a time competes in Redis.
      freeLocal = await this.#localLocks.acquire(name, this.#lockTimeoutMs)
    } catch (err) {
      if (!(err instanceof MutexTimeout)) throw err
      throw this.#lockedError(name, `held by this process (pid ${process.pid})`)
    }
    try {
      const key = this.#key(`lock:${encodeURIComponent(name)}`)
      const owner = `${process.pid}:${randomBytes(16).toString('hex')}`
      await this.#acquireLock(name, key, owner, deadline)
      const extender = this.#extendWhileHeld(name, key, owner)
      try {
        return await work()
      } finally {
        clearInterval(extender)
        this.#extenders.delete(extender)
        await this.#releaseLock(key, owner)
      }
    } finally {
      freeLocal()
    }
  }

  async reseal(): Promise<number> {
    let count = 0
    for (const prefix of ['token:', 'once:', 'doc:']) {
      for (const key of await this.#scan(prefix)) if (await this.#resealOne(key)) count++
    }
    return count
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#connected()
    // This store's own subscriptions made before the publish hear it: wait until Redis confirmed them.
    await this.whenSubscribed(SUBSCRIBE_WAIT_MS).catch(() => undefined)
    await this.#run('PUBLISH', (c) => publisherOf(c).publish(this.#channel(channel), message))
  }

  subscribe(channel: string, onMessage: (message: string) => void): () => void {
    this.#assertOpen()
    const subscriber = this.#subscriberConnection()
    let handlers = this.#handlers.get(channel)
    if (handlers === undefined) {
      this.#handlers.set(channel, (handlers = new Set()))
      this.#track(subscriber.subscribe(this.#channel(channel)))
    }
    const handler: Handler = { onMessage, active: true }
    handlers.add(handler)
    return () => {
      if (!handler.active) return
      handler.active = false
      handlers.delete(handler)
      if (handlers.size === 0 && this.#handlers.get(channel) === handlers) {
        this.#handlers.delete(channel)
        if (!this.#closed) this.#track(subscriber.unsubscribe(this.#channel(channel)))
      }
    }
  }

  /**
   * Resolves once Redis has confirmed every subscription made so far (a gateway can await it at
   * start-up; a test, before publishing from another store). Rejects with `store_unavailable` if
   * that takes longer than `timeoutMs`, as it does while Redis is down.
   */
  async whenSubscribed(timeoutMs = 10_000): Promise<void> {
    const pending = [...this.#pendingSubscribes]
    if (pending.length === 0) return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#unavailable('the subscriptions were not confirmed')), timeoutMs)
    })
    try {
      await Promise.race([Promise.all(pending), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const extender of this.#extenders) clearInterval(extender)
    this.#extenders.clear()
    this.#handlers.clear()
    await Promise.all([disconnect(this.#client), this.#subscriber === undefined ? undefined : disconnect(this.#subscriber)])
  }

  // ── commands ─────────────────────────────────────────────────────────────────────────────────

  /** Runs one command (or a few) once connected; every failure becomes a StoreError naming the URL without password. */
  async #run<T>(what: string, command: (client: Client) => Promise<T>): Promise<T> {
    await this.#connected()
    try {
      return await command(this.#client)
    } catch (err) {
      if (err instanceof StoreError) throw err
      if (err instanceof Error && err.name === 'ReplyError') {
        // Redis answered, with an error (NOAUTH, WRONGPASS, READONLY, OOM…): its text names no secret.
        throw new StoreError('store_unavailable', `Redis at ${this.location} refused ${what}: ${err.message}`, { cause: err })
      }
      throw this.#unavailable(err instanceof Error ? err.message : String(err), err)
    }
  }

  async #connected(): Promise<void> {
    this.#assertOpen()
    if (this.#isReady()) return
    // The first connection is awaited once (bounded by connectTimeout); after it, a connection that
    // is down fails the command at once while ioredis reconnects in the background.
    this.#firstConnect ??= this.#connectOnce()
    await this.#firstConnect
    this.#assertOpen()
    if (!this.#isReady()) throw this.#unavailable()
  }

  #isReady(): boolean {
    return this.#client.status === 'ready'
  }

  #connectOnce(): Promise<void> {
    const client = this.#client
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        client.off('ready', done)
        client.off('error', done)
        client.off('end', done)
        resolve()
      }
      const timer = setTimeout(done, CONNECT_TIMEOUT_MS + 500)
      client.once('ready', done)
      client.once('error', done)
      client.once('end', done)
      if (client.status === 'wait') client.connect().catch(() => undefined)
    })
  }

  #watch(client: Client): void {
    // Without a listener ioredis prints every failed reconnect; the cause is kept for our messages instead.
    client.on('error', (err: Error) => {
      this.#lastConnectionError = err.message
    })
    client.on('ready', () => {
      this.#lastConnectionError = undefined
    })
  }

  #unavailable(reason?: string, cause?: unknown): StoreError {
    const why = this.#lastConnectionError ?? reason
    return new StoreError(
      'store_unavailable',
      `Redis at ${this.location} is unreachable${why === undefined ? '' : ` (${why})`}; c66-proxy keeps reconnecting and recovers by itself when Redis answers again.`,
      cause === undefined ? undefined : { cause },
    )
  }

  /** What to SCAN: the one server, or every master of a cluster (which spreads the keys over them). */
  async #masters(): Promise<Redis[]> {
    await this.#connected()
    return this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client]
  }

  /** Logical keys (without the prefix) that start with `logicalPrefix`. */
  async #scan(logicalPrefix: string): Promise<string[]> {
    const pattern = `${escapeGlob(this.#prefix + logicalPrefix)}*`
    const found = new Set<string>()
    for (const node of await this.#masters()) {
      let cursor = '0'
      do {
        const [next, keys] = await this.#run('SCAN', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000))
        // SCAN may return a key twice; a Set keeps one.
        for (const key of keys) found.add(key.slice(this.#prefix.length))
        cursor = next
      } while (cursor !== '0')
    }
    return [...found]
  }

  // ── sealing ──────────────────────────────────────────────────────────────────────────────────

  #key(logical: string): string {
    return this.#prefix + logical
  }

  #channel(channel: string): string {
    return `${this.#prefix}chan:${channel}`
  }

  #seal(key: string, plaintext: string): string {
    return JSON.stringify(seal(this.#keys.current, key, plaintext))
  }

  #open(key: string, raw: string): string {
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch {
      json = undefined
    }
    const parsed = sealedRecordSchema.safeParse(json)
    if (!parsed.success) {
      throw new StoreError('store_corrupt', `Redis at ${this.location} holds a damaged record "${key}" (not a sealed c66-proxy value); it was left untouched.`)
    }
    const { expiresAt: _clearExpiry, ...sealed } = parsed.data
    return open(this.#keys, key, sealed, this.location)
  }

  /** Opens and decodes a record of any kind; returns its sealed expiry, if it has one. */
  #decode(key: string, raw: string): { expiresAt: number | undefined } {
    const plaintext = this.#open(key, raw)
    if (key.startsWith('token:')) {
      decodeToken(plaintext, key, this.location)
      return { expiresAt: undefined }
    }
    if (key.startsWith('once:')) return { expiresAt: decodeOnce(plaintext, key, this.location).expiresAt }
    return { expiresAt: decodeDoc(plaintext, key, this.location).expiresAt }
  }

  #liveDoc(key: string, raw: string): string | undefined {
    const doc = decodeDoc(this.#open(key, raw), key, this.location)
    return doc.expiresAt === undefined || this.#clock.now() < doc.expiresAt ? doc.value : undefined
  }

  /** Re-seals one record with the current key unless it changed meanwhile (then tries again). True if it is live. */
  async #resealOne(key: string): Promise<boolean> {
    const fullKey = this.#key(key)
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.#run('GET', (c) => c.get(fullKey))
      if (raw === null) return false
      const { expiresAt } = this.#decode(key, raw)
      if (expiresAt !== undefined && expiresAt <= this.#clock.now()) {
        await this.#run('EVAL', (c) => c.eval(DELETE_IF_SCRIPT, 1, fullKey, raw))
        return false
      }
      const resealed = this.#seal(key, this.#open(key, raw))
      if ((await this.#run('EVAL', (c) => c.eval(SWAP_SCRIPT, 1, fullKey, raw, resealed))) === 1) return true
    }
    throw new StoreError('store_locked', `Could not re-seal record "${key}" in Redis at ${this.location}: it kept changing. Run the rotation again.`)
  }

  // ── locks ────────────────────────────────────────────────────────────────────────────────────

  async #acquireLock(name: string, key: string, owner: string, deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const set = await this.#run('SET NX', (c) => c.set(key, owner, 'PX', this.#lockTtlMs, 'NX'))
      if (set === 'OK') return
      const left = deadline - Date.now()
      if (left <= 0) throw this.#lockedError(name, 'held by another process sharing this Redis')
      await sleep(Math.min(left, Math.min(200, 10 * 2 ** attempt) + Math.random() * 20))
    }
  }

  /** Keeps extending the lock's PX while the work runs; stops by itself if the lock is no longer ours. */
  #extendWhileHeld(name: string, key: string, owner: string): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        this.#run('EVAL', (c) => c.eval(EXTEND_SCRIPT, 1, key, owner, String(this.#lockTtlMs))).then(
          (extended) => {
            if (extended === 1 || !this.#extenders.has(timer)) return
            clearInterval(timer)
            this.#extenders.delete(timer)
            process.emitWarning(
              `The store lock "${name}" expired before it could be extended (Redis unreachable for longer than its ${this.#lockTtlMs} ms?); another process may hold it now.`,
              'C66ProxyStoreWarning',
            )
          },
          // Redis unreachable: try again at the next tick; if it stays away, the lock expires.
          () => undefined,
        )
      },
      Math.max(20, Math.floor(this.#lockTtlMs / 3)),
    )
    timer.unref()
    this.#extenders.add(timer)
    return timer
  }

  async #releaseLock(key: string, owner: string): Promise<void> {
    try {
      // Only our own lock: if it expired and someone else holds it now, it is theirs to release.
      await this.#run('EVAL', (c) => c.eval(RELEASE_SCRIPT, 1, key, owner))
    } catch {
      // Best effort: an unreleased lock expires after lockTtlMs, and the work's own outcome matters more.
    }
  }

  #lockedError(name: string, holder: string): StoreError {
    return new StoreError(
      'store_locked',
      `Gave up after ${this.#lockTimeoutMs} ms waiting for the lock "${name}" in Redis at ${this.location}, ${holder}. A holder that died releases it within ${this.#lockTtlMs} ms.`,
    )
  }

  // ── pub/sub ──────────────────────────────────────────────────────────────────────────────────

  /** The dedicated subscriber connection, opened on first use; it queues (re)subscriptions until Redis answers. */
  #subscriberConnection(): Client {
    if (this.#subscriber !== undefined) return this.#subscriber
    const subscriber = this.#newSubscriber()
    subscriber.on('error', () => undefined)
    const channelPrefix = this.#channel('')
    subscriber.on('message', (fullChannel: string, message: string) => {
      if (!fullChannel.startsWith(channelPrefix)) return
      for (const handler of [...(this.#handlers.get(fullChannel.slice(channelPrefix.length)) ?? [])]) {
        if (handler.active) deliver(handler.onMessage, message)
      }
    })
    this.#subscriber = subscriber
    return subscriber
  }

  #track(command: Promise<unknown>): void {
    const pending: Promise<void> = command.then(
      () => undefined,
      () => undefined,
    )
    this.#pendingSubscribes.add(pending)
    void pending.then(() => this.#pendingSubscribes.delete(pending))
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('store_unavailable', `The token store at ${this.location} was closed.`)
  }
}

type Client = Redis | Cluster

interface Handler {
  readonly onMessage: (message: string) => void
  active: boolean
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

/**
 * Where to PUBLISH. A cluster forwards a message to the other nodes over its bus, so two messages
 * sent to two different nodes can overtake each other: every publisher uses the same master (the
 * lowest address), and messages from one publisher arrive in the order they were sent.
 */
function publisherOf(client: Client): Redis | Cluster {
  if (!(client instanceof Cluster)) return client
  const address = (node: Redis) => `${node.options.host ?? ''}:${String(node.options.port ?? 0).padStart(5, '0')}`
  const [first] = client.nodes('master').sort((a, b) => address(a).localeCompare(address(b)))
  return first ?? client
}

function isRecordKey(key: string): boolean {
  return key.startsWith('token:') || key.startsWith('once:') || key.startsWith('doc:')
}

/** Redis's PX for a value the clock expires after `ttlMs`: a little later, and never zero or negative. */
function gcAfter(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs)) + GC_GRACE_MS
}

/** Escapes SCAN MATCH's glob characters, so a prefix or an encoded name matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\^]/g, (c) => `\\${c}`)
}

async function disconnect(client: Client): Promise<void> {
  if (client.status === 'end') return
  if (client.status === 'ready') {
    // QUIT lets Redis finish what we sent; a Redis that does not answer is cut off.
    let timer: NodeJS.Timeout | undefined
    const answered = await Promise.race([
      client.quit().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 1_000))),
    ])
    clearTimeout(timer)
    if (answered) return
  }
  client.disconnect()
}
