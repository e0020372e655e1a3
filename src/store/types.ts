import type { Secret } from '../secret.js'

/** Where a stored token came from. */
export type TokenOrigin = 'oauth' | 'personal' | 'cx-import'

/**
 * A Cloud 66 token as the store keeps it. Secrets stay in Secret objects in memory and are
 * sealed (AES-256-GCM) at rest; everything else is plain metadata.
 */
export interface StoredToken {
  readonly accessToken: Secret
  readonly refreshToken: Secret | undefined
  /** As Cloud 66 sent it (Doorkeeper says "Bearer"). */
  readonly tokenType: string
  /** Space-separated scopes, as granted. */
  readonly scope: string | undefined
  /** Epoch ms; undefined for tokens that do not expire (Cloud 66's usual case). */
  readonly expiresAt: number | undefined
  /** Epoch ms when Cloud 66 issued it (`created_at`), or when we received it. */
  readonly obtainedAt: number
  readonly origin: TokenOrigin
  /** Set when the token was revoked or a refresh failed for good: the caller must log in again. */
  readonly loginRequired?: boolean
}

/** Raised when the store cannot be read, decrypted or written. Messages name the file and the likely cause. */
export class StoreError extends Error {
  override readonly name = 'StoreError'
  constructor(
    readonly code: 'store_unreadable' | 'store_corrupt' | 'store_key_mismatch' | 'store_unavailable' | 'store_locked',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Tells every process sharing a store that something changed (a key revoked, a member removed), so
 * in-memory caches can drop it. Its reach is the store's: this process for the memory and file
 * stores (local-bus.ts), every replica for the Redis store (pub/sub).
 */
export interface StoreBus {
  publish(channel: string, message: string): Promise<void>
  /** Returns a function that stops the subscription. */
  subscribe(channel: string, onMessage: (message: string) => void): () => void
  /**
   * Resolves once every subscription made so far hears what is published from now on: at once in
   * process, once Redis confirmed them over Redis. Rejects with `store_unavailable` after `timeoutMs`.
   */
  whenSubscribed(timeoutMs?: number): Promise<void>
}

/**
 * The contract every token store implements (the embedded file store now, Redis for the gateway).
 * One contract test suite runs against each implementation.
 */
export interface TokenStore {
  readonly kind: 'file' | 'redis' | 'memory'
  /** A description for messages: the file path, or the Redis URL without credentials. */
  readonly location: string
  /** Throws a StoreError when the store exists but cannot be read or decrypted. */
  check(): Promise<void>
  getToken(caller: string): Promise<StoredToken | undefined>
  putToken(caller: string, token: StoredToken): Promise<void>
  /** Returns false when there was nothing to delete. */
  deleteToken(caller: string): Promise<boolean>
  listCallers(): Promise<string[]>
  /** One-time values with an expiry (pending OAuth logins): stored sealed, returned at most once. */
  putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void>
  /** Gets and deletes in one step; undefined when absent, already taken, or expired. */
  takeOnce(namespace: string, id: string): Promise<string | undefined>
  /** Runs `work` holding an exclusive lock named `name`, across every process sharing the store. */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>
  /** Re-seals every record with the current key (after `secret rotate`); returns how many. */
  reseal(): Promise<number>
  /**
   * Named documents (the gateway's members, keys and sessions), sealed like every other record.
   * `ttlMs` makes a document expire (compared with the store's clock, like one-time values).
   */
  putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void>
  getDoc(namespace: string, id: string): Promise<string | undefined>
  /** Returns false when there was nothing to delete. */
  deleteDoc(namespace: string, id: string): Promise<boolean>
  /** Every unexpired document of a namespace, in no particular order. */
  listDocs(namespace: string): Promise<Array<{ id: string; value: string }>>
  /**
   * The bus of the processes sharing this store. It comes with the store because its reach is the
   * store's (the same Redis, the same file), and closing the store ends its subscriptions.
   */
  readonly bus: StoreBus
  /** Ends the bus's subscriptions too; every later call fails with `store_unavailable`. */
  close(): Promise<void>
}
