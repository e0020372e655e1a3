import type { Clock } from '../clock.js'
import { KeyedMutex, MutexTimeout } from './mutex.js'
import { StoreError, type StoredToken, type TokenStore } from './types.js'

export interface MemoryTokenStoreOptions {
  /** Decides expiry of one-time values. */
  readonly clock: Clock
  /** How long withLock waits before `store_locked`. Default 10 s. */
  readonly lockTimeoutMs?: number
}

/**
 * The reference TokenStore: the contract's semantics with nothing in the way (no file, no sealing).
 * For tests, and for a proxy that must not write to disk. Locks are exclusive within this process only,
 * which is all a memory store can be shared by.
 */
export class MemoryTokenStore implements TokenStore {
  readonly kind = 'memory' as const
  readonly location = 'memory'
  readonly #tokens = new Map<string, StoredToken>()
  readonly #once = new Map<string, { value: string; expiresAt: number }>()
  readonly #locks = new KeyedMutex()
  readonly #clock: Clock
  readonly #lockTimeoutMs: number
  #closed = false

  constructor(options: MemoryTokenStoreOptions) {
    this.#clock = options.clock
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000
  }

  async check(): Promise<void> {
    this.#assertOpen()
  }

  async getToken(caller: string): Promise<StoredToken | undefined> {
    this.#assertOpen()
    return this.#tokens.get(caller)
  }

  async putToken(caller: string, token: StoredToken): Promise<void> {
    this.#assertOpen()
    // A copy: later changes to the caller's object must not show through the store.
    this.#tokens.set(caller, { ...token })
  }

  async deleteToken(caller: string): Promise<boolean> {
    this.#assertOpen()
    return this.#tokens.delete(caller)
  }

  async listCallers(): Promise<string[]> {
    this.#assertOpen()
    return [...this.#tokens.keys()].sort()
  }

  async putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    this.#assertOpen()
    this.#prune()
    this.#once.set(onceKey(namespace, id), { value, expiresAt: this.#clock.now() + ttlMs })
  }

  async takeOnce(namespace: string, id: string): Promise<string | undefined> {
    this.#assertOpen()
    const key = onceKey(namespace, id)
    const entry = this.#once.get(key)
    this.#once.delete(key)
    this.#prune()
    return entry !== undefined && this.#clock.now() < entry.expiresAt ? entry.value : undefined
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#assertOpen()
    let free: () => void
    try {
      free = await this.#locks.acquire(name, this.#lockTimeoutMs)
    } catch (err) {
      if (!(err instanceof MutexTimeout)) throw err
      throw new StoreError('store_locked', `Gave up after ${this.#lockTimeoutMs} ms waiting for the lock "${name}" of the memory token store.`)
    }
    try {
      return await work()
    } finally {
      free()
    }
  }

  async reseal(): Promise<number> {
    this.#assertOpen()
    this.#prune()
    return this.#tokens.size + this.#once.size
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #prune(): void {
    const now = this.#clock.now()
    for (const [key, entry] of this.#once) if (entry.expiresAt <= now) this.#once.delete(key)
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('store_unavailable', 'The memory token store was closed.')
  }
}

function onceKey(namespace: string, id: string): string {
  return `${encodeURIComponent(namespace)}:${encodeURIComponent(id)}`
}
