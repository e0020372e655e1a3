import { Cluster, type Redis } from 'ioredis'
import { deliver } from '../local-bus.js'
import type { StoreBus } from '../types.js'
import type { Client } from './client.js'
import { disconnect, type RedisConnection } from './connection.js'

/** publish() waits at most this long for this store's own subscriptions to be confirmed first. */
const SUBSCRIBE_WAIT_MS = 2_000

interface Handler {
  readonly onMessage: (message: string) => void
  active: boolean
}

/**
 * The store's bus over Redis pub/sub, on channels `<prefix>chan:<channel>`. Messages are not stored
 * and not sealed: publish ids, never secrets. Subscriptions live on a dedicated connection, opened on
 * first use, which renews them by itself after an outage.
 */
export class RedisBus implements StoreBus {
  readonly #channelPrefix: string
  readonly #handlers = new Map<string, Set<Handler>>()
  readonly #pendingSubscribes = new Set<Promise<void>>()
  #subscriber: Client | undefined

  constructor(
    private readonly connection: RedisConnection,
    prefix: string,
  ) {
    this.#channelPrefix = `${prefix}chan:`
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.connection.connected()
    // This store's own subscriptions made before the publish hear it: wait until Redis confirmed them.
    await this.whenSubscribed(SUBSCRIBE_WAIT_MS).catch(() => undefined)
    await this.connection.run('PUBLISH', (c) => publisherOf(c).publish(this.#channelPrefix + channel, message))
  }

  subscribe(channel: string, onMessage: (message: string) => void): () => void {
    this.connection.assertOpen()
    const subscriber = this.#subscriberConnection()
    let handlers = this.#handlers.get(channel)
    if (handlers === undefined) {
      this.#handlers.set(channel, (handlers = new Set()))
      this.#track(subscriber.subscribe(this.#channelPrefix + channel))
    }
    const handler: Handler = { onMessage, active: true }
    handlers.add(handler)
    return () => {
      if (!handler.active) return
      handler.active = false
      handlers.delete(handler)
      if (handlers.size === 0 && this.#handlers.get(channel) === handlers) {
        this.#handlers.delete(channel)
        if (!this.connection.closed) this.#track(subscriber.unsubscribe(this.#channelPrefix + channel))
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
      timer = setTimeout(() => reject(this.connection.unavailable('the subscriptions were not confirmed')), timeoutMs)
    })
    try {
      await Promise.race([Promise.all(pending), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Drops every subscription and quits the subscriber connection. */
  async close(): Promise<void> {
    this.#handlers.clear()
    if (this.#subscriber !== undefined) await disconnect(this.#subscriber)
  }

  /** The dedicated subscriber connection, opened on first use; it queues (re)subscriptions until Redis answers. */
  #subscriberConnection(): Client {
    if (this.#subscriber !== undefined) return this.#subscriber
    const subscriber = this.connection.newSubscriber()
    subscriber.on('error', () => undefined)
    subscriber.on('message', (fullChannel: string, message: string) => {
      if (!fullChannel.startsWith(this.#channelPrefix)) return
      for (const handler of [...(this.#handlers.get(fullChannel.slice(this.#channelPrefix.length)) ?? [])]) {
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
