import { resolve } from 'node:path'
import type { StoreBus } from './types.js'

/**
 * publish/subscribe within one process: what the memory and file stores offer for cache
 * invalidation. A file store is for one replica, so "every process sharing the store" is this
 * process; a CLI command run in another process (say `keys revoke`) reaches no cache through it.
 *
 * Delivery is asynchronous (a microtask per subscriber), as it is over Redis: a publisher never runs
 * subscriber code on its own stack, and code tested against the memory store cannot come to rely on
 * synchronous delivery. A subscriber that throws is reported as a process warning; it does not stop
 * delivery to the others.
 */
export class LocalBus {
  readonly #channels = new Map<string, Set<Subscription>>()

  publish(channel: string, message: string): void {
    for (const subscription of this.#channels.get(channel) ?? []) {
      queueMicrotask(() => {
        // Unsubscribed after the publish but before delivery: it asked not to hear any more.
        if (subscription.active) deliver(subscription.onMessage, message)
      })
    }
  }

  subscribe(channel: string, onMessage: (message: string) => void): () => void {
    const subscription: Subscription = { onMessage, active: true }
    let set = this.#channels.get(channel)
    if (set === undefined) this.#channels.set(channel, (set = new Set()))
    set.add(subscription)
    return () => {
      subscription.active = false
      const current = this.#channels.get(channel)
      current?.delete(subscription)
      if (current?.size === 0) this.#channels.delete(channel)
    }
  }
}

interface Subscription {
  readonly onMessage: (message: string) => void
  active: boolean
}

/** Runs one subscriber; what it throws is its own bug, reported without disturbing the publisher or the others. */
export function deliver(onMessage: (message: string) => void, message: string): void {
  try {
    onMessage(message)
  } catch (err) {
    process.emitWarning(`A token store subscriber threw: ${err instanceof Error ? err.message : String(err)}`, 'C66ProxyStoreWarning')
  }
}

/** One bus per store file in this process, so every store object opened on the same file hears the others. */
const fileBuses = new Map<string, LocalBus>()

export function busForFile(path: string): LocalBus {
  const key = resolve(path)
  let bus = fileBuses.get(key)
  if (bus === undefined) fileBuses.set(key, (bus = new LocalBus()))
  return bus
}

/**
 * The StoreBus of a memory or file store object: it publishes and subscribes through a LocalBus, is
 * refused once its store is closed, and closing the store ends the subscriptions it made (as closing
 * a Redis store quits its subscriber connection).
 */
export class LocalStoreBus implements StoreBus {
  readonly #stops = new Set<() => void>()

  constructor(
    private readonly bus: LocalBus,
    /** The store's own check: throws its `store_unavailable` once it is closed. */
    private readonly assertOpen: () => void,
  ) {}

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen()
    this.bus.publish(channel, message)
  }

  subscribe(channel: string, onMessage: (message: string) => void): () => void {
    this.assertOpen()
    const stop = this.bus.subscribe(channel, onMessage)
    const once = () => {
      if (this.#stops.delete(once)) stop()
    }
    this.#stops.add(once)
    return once
  }

  /** In process, a subscription hears every later publish from the moment it is made. */
  async whenSubscribed(): Promise<void> {}

  /** Ends every subscription this store object made. */
  close(): void {
    for (const stop of [...this.#stops]) stop()
  }
}
