import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { KeyedMutex, MutexTimeout } from '../mutex.js'
import { StoreError } from '../types.js'
import type { RedisConnection } from './connection.js'

/**
 * Compare-and-delete: removes a key only while it still holds the value the caller knows. The one
 * script behind a lock's release (only its owner's token) and reseal's drop of an expired record
 * (only if nobody rewrote it since it was read).
 */
const DELETE_IF_HOLDS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`
/** Compare-and-extend: a new PX for the lock, only while it is still ours. */
const EXTEND_IF_HOLDS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`

/** Deletes `key` if it still holds `value`; true if it did. */
export async function deleteIfHolds(connection: RedisConnection, key: string, value: string): Promise<boolean> {
  return (await connection.run('EVAL', (c) => c.eval(DELETE_IF_HOLDS, 1, key, value))) === 1
}

export interface RedisLockOptions {
  /** Put before the lock's key: `<prefix>lock:<name>`. */
  readonly prefix: string
  /** How long withLock waits before `store_locked`. */
  readonly timeoutMs: number
  /** How long a lock outlives a holder that stopped extending it (a crashed replica). */
  readonly ttlMs: number
}

/**
 * withLock over Redis: `SET <prefix>lock:<name> <owner> NX PX <ttl>`, where the owner is a random
 * token of this holder. A live holder extends the PX every third of the TTL, so long work keeps the
 * lock; a holder that died stops extending, and the lock expires. Only the owner's token releases it.
 */
export class RedisLock {
  readonly #localLocks = new KeyedMutex()
  readonly #extenders = new Set<NodeJS.Timeout>()

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: RedisLockOptions,
  ) {}

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.connection.assertOpen()
    const deadline = Date.now() + this.options.timeoutMs
    let freeLocal: () => void
    try {
      // This process's callers queue here first, so only one of them at a time competes in Redis.
      freeLocal = await this.#localLocks.acquire(name, this.options.timeoutMs)
    } catch (err) {
      if (!(err instanceof MutexTimeout)) throw err
      throw this.#lockedError(name, `held by this process (pid ${process.pid})`)
    }
    try {
      const key = `${this.options.prefix}lock:${encodeURIComponent(name)}`
      const owner = `${process.pid}:${randomBytes(16).toString('hex')}`
      await this.#acquire(name, key, owner, deadline)
      const extender = this.#extendWhileHeld(name, key, owner)
      try {
        return await work()
      } finally {
        clearInterval(extender)
        this.#extenders.delete(extender)
        await this.#release(key, owner)
      }
    } finally {
      freeLocal()
    }
  }

  /** Stops extending every lock held (the store is closing): they expire unless released first. */
  close(): void {
    for (const extender of this.#extenders) clearInterval(extender)
    this.#extenders.clear()
  }

  async #acquire(name: string, key: string, owner: string, deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const set = await this.connection.run('SET NX', (c) => c.set(key, owner, 'PX', this.options.ttlMs, 'NX'))
      if (set === 'OK') return
      const left = deadline - Date.now()
      if (left <= 0) throw this.#lockedError(name, 'held by another process sharing this Redis')
      await sleep(Math.min(left, Math.min(200, 10 * 2 ** attempt) + Math.random() * 20))
    }
  }

  /** Keeps extending the lock's PX while the work runs; stops by itself if the lock is no longer ours. */
  #extendWhileHeld(name: string, key: string, owner: string): NodeJS.Timeout {
    const ttlMs = this.options.ttlMs
    const timer = setInterval(
      () => {
        this.connection
          .run('EVAL', (c) => c.eval(EXTEND_IF_HOLDS, 1, key, owner, String(ttlMs)))
          .then(
            (extended) => {
              if (extended === 1 || !this.#extenders.has(timer)) return
              clearInterval(timer)
              this.#extenders.delete(timer)
              process.emitWarning(
                `The store lock "${name}" expired before it could be extended (Redis unreachable for longer than its ${ttlMs} ms?); another process may hold it now.`,
                'C66ProxyStoreWarning',
              )
            },
            // Redis unreachable: try again at the next tick; if it stays away, the lock expires.
            () => undefined,
          )
      },
      Math.max(20, Math.floor(ttlMs / 3)),
    )
    timer.unref()
    this.#extenders.add(timer)
    return timer
  }

  async #release(key: string, owner: string): Promise<void> {
    try {
      // Only our own lock: if it expired and someone else holds it now, it is theirs to release.
      await deleteIfHolds(this.connection, key, owner)
    } catch {
      // Best effort: an unreleased lock expires after its TTL, and the work's own outcome matters more.
    }
  }

  #lockedError(name: string, holder: string): StoreError {
    return new StoreError(
      'store_locked',
      `Gave up after ${this.options.timeoutMs} ms waiting for the lock "${name}" in Redis at ${this.connection.location}, ${holder}. A holder that died releases it within ${this.options.ttlMs} ms.`,
    )
  }
}
