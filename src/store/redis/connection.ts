import { Cluster, type Redis } from 'ioredis'
import { StoreError } from '../types.js'
import { CONNECT_TIMEOUT_MS, createClients, locationOf, type Client, type ClientOptions } from './client.js'

/**
 * The store's connection to Redis (one server, Sentinel or a Cluster) and what an outage means for it.
 *
 * Commands fail at once with `store_unavailable` ("Redis at <url> is unreachable") while the
 * connection is down (no offline queue), and after COMMAND_TIMEOUT_MS when Redis stops answering;
 * ioredis reconnects by itself with a capped backoff, so everything works again when Redis returns,
 * without recreating the store. The very first connection is awaited (bounded), so a store used
 * right after construction does not fail for being new.
 */
export class RedisConnection {
  /** The URL without credentials or query (or the sentinels and master name). */
  readonly location: string
  readonly client: Client
  /** A dedicated connection for pub/sub, which queues its (re)subscriptions until Redis answers. */
  readonly newSubscriber: () => Client
  #firstConnect: Promise<void> | undefined
  #lastConnectionError: string | undefined
  #closed = false

  constructor(options: ClientOptions) {
    this.location = locationOf(options)
    const { client, newSubscriber } = createClients(options)
    this.client = client
    this.newSubscriber = newSubscriber
    // Without a listener ioredis prints every failed reconnect; the cause is kept for our messages instead.
    this.client.on('error', (err: Error) => {
      this.#lastConnectionError = err.message
    })
    this.client.on('ready', () => {
      this.#lastConnectionError = undefined
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Runs one command (or a few) once connected; every failure becomes a StoreError naming the URL without password. */
  async run<T>(what: string, command: (client: Client) => Promise<T>): Promise<T> {
    await this.connected()
    try {
      return await command(this.client)
    } catch (err) {
      if (err instanceof StoreError) throw err
      if (err instanceof Error && err.name === 'ReplyError') {
        // Redis answered, with an error (NOAUTH, WRONGPASS, READONLY, OOM…): its text names no secret.
        throw new StoreError('store_unavailable', `Redis at ${this.location} refused ${what}: ${err.message}`, { cause: err })
      }
      throw this.unavailable(err instanceof Error ? err.message : String(err), err)
    }
  }

  async connected(): Promise<void> {
    this.assertOpen()
    if (this.#isReady()) return
    // The first connection is awaited once (bounded by connectTimeout); after it, a connection that
    // is down fails the command at once while ioredis reconnects in the background.
    this.#firstConnect ??= connectOnce(this.client)
    await this.#firstConnect
    this.assertOpen()
    if (!this.#isReady()) throw this.unavailable()
  }

  /** A method, so TypeScript does not take the status read before an await for the status after it. */
  #isReady(): boolean {
    return this.client.status === 'ready'
  }

  /** What to SCAN: the one server, or every master of a cluster (which spreads the keys over them). */
  async masters(): Promise<Redis[]> {
    await this.connected()
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
  }

  unavailable(reason?: string, cause?: unknown): StoreError {
    const why = this.#lastConnectionError ?? reason
    return new StoreError(
      'store_unavailable',
      `Redis at ${this.location} is unreachable${why === undefined ? '' : ` (${why})`}; c66-proxy keeps reconnecting and recovers by itself when Redis answers again.`,
      cause === undefined ? undefined : { cause },
    )
  }

  assertOpen(): void {
    if (this.#closed) throw new StoreError('store_unavailable', `The token store at ${this.location} was closed.`)
  }

  /** Refuses every later command at once (synchronously), then disconnects. */
  async close(): Promise<void> {
    this.#closed = true
    await disconnect(this.client)
  }
}

/** Resolves when the first connection attempt ends, however it ends (bounded by the connect timeout). */
function connectOnce(client: Client): Promise<void> {
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

export async function disconnect(client: Client): Promise<void> {
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
