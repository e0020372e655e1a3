import type { Clock } from '../clock.js'
import { LocalBus, LocalStoreBus } from './local-bus.js'
import { KeyedMutex, MutexTimeout } from './mutex.js'
import { StoreError, type StoreBus, type StoredToken, type TokenStore } from './types.js'

export interface MemoryTokenStoreOptions {
  /** Decides expiry of one-time values. */
  readonly clock: Clock
  /** How long withLock waits before `store_locked`. Default 10 s. */
  readonly lockTimeoutMs?: number
}

/**
 * The reference TokenStore: the contract's semantics with nothing in the way (no file, no sealing).
 * For tests, and for a proxy that must not write to disk. Locks are exclusive within this process only,
 * which is all a memory store can be shared by; its bus likewise reaches this store object's
 * subscribers only.
 */
export class MemoryTokenStore implements TokenStore {
  readonly kind = 'memory' as const
  readonly location = 'memory'
  readonly #tokens = new Map<string, StoredToken>()
  readonly #once = new Map<string, { value: string; expiresAt: number }>()
  readonly #docs = new Map<string, { namespace: string; id: string; value: string; expiresAt: number | undefined }>()
  readonly #bus = new LocalStoreBus(new LocalBus(), () => this.#assertOpen())
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
    return this.#tokens.size + this.#once.size + this.#docs.size
  }

  async putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    this.#assertOpen()
    this.#prune()
    this.#docs.set(onceKey(namespace, id), { namespace, id, value, expiresAt: ttlMs === undefined ? undefined : this.#clock.now() + ttlMs })
  }

  async getDoc(namespace: string, id: string): Promise<string | undefined> {
    this.#assertOpen()
    const entry = this.#docs.get(onceKey(namespace, id))
    return entry !== undefined && this.#live(entry.expiresAt) ? entry.value : undefined
  }

  async deleteDoc(namespace: string, id: string): Promise<boolean> {
    this.#assertOpen()
    const key = onceKey(namespace, id)
    const entry = this.#docs.get(key)
    this.#docs.delete(key)
    // An expired document was already gone as far as anyone could see.
    return entry !== undefined && this.#live(entry.expiresAt)
  }

  async listDocs(namespace: string): Promise<Array<{ id: string; value: string }>> {
    this.#assertOpen()
    const docs: Array<{ id: string; value: string }> = []
    for (const entry of this.#docs.values()) {
      if (entry.namespace === namespace && this.#live(entry.expiresAt)) docs.push({ id: entry.id, value: entry.value })
    }
    return docs
  }

  get bus(): StoreBus {
    return this.#bus
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#bus.close()
  }

  #live(expiresAt: number | undefined): boolean {
    return expiresAt === undefined || this.#clock.now() < expiresAt
  }

  #prune(): void {
    const now = this.#clock.now()
    for (const [key, entry] of this.#once) if (entry.expiresAt <= now) this.#once.delete(key)
    for (const [key, entry] of this.#docs) if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#docs.delete(key)
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('store_unavailable', 'The memory token store was closed.')
  }
}

function onceKey(namespace: string, id: string): string {
  return `${encodeURIComponent(namespace)}:${encodeURIComponent(id)}`
}
