import type { Clock } from '../../clock.js'
import { sealedRecordSchema } from '../document.js'
import type { KeyRing } from '../keys.js'
import { open, seal } from '../sealer.js'
import { decodeDoc, decodeOnce, decodeToken } from '../token-codec.js'
import { StoreError, type StoredToken } from '../types.js'

/**
 * The values Redis holds: the JSON of a record sealed with AES-256-GCM under the key ring, with the
 * record key (without the prefix) as additional data. Redis never holds a token, a one-time value or
 * a document in the clear, and a value copied under another key does not open.
 *
 * Expiry is decided by the store's clock against the expiry sealed inside the value; the `PX` Redis
 * is given (a little later) only collects the garbage.
 */
export class SealedValues {
  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    /** Names the store in messages. */
    private readonly location: string,
  ) {}

  seal(key: string, plaintext: string): string {
    return JSON.stringify(seal(this.keys.current, key, plaintext))
  }

  open(key: string, raw: string): string {
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
    return open(this.keys, key, sealed, this.location)
  }

  token(key: string, raw: string): StoredToken {
    return decodeToken(this.open(key, raw), key, this.location)
  }

  /** A one-time value, or undefined once its sealed expiry has passed by the store's clock. */
  liveOnce(key: string, raw: string): string | undefined {
    const once = decodeOnce(this.open(key, raw), key, this.location)
    return this.clock.now() < once.expiresAt ? once.value : undefined
  }

  /** A document's value, or undefined once its sealed expiry has passed by the store's clock. */
  liveDoc(key: string, raw: string): string | undefined {
    const doc = decodeDoc(this.open(key, raw), key, this.location)
    return doc.expiresAt === undefined || this.clock.now() < doc.expiresAt ? doc.value : undefined
  }

  /** Opens and decodes a record of any kind: true while it is live (a token always is). */
  isLive(key: string, raw: string): boolean {
    const plaintext = this.open(key, raw)
    if (key.startsWith('token:')) {
      decodeToken(plaintext, key, this.location)
      return true
    }
    const { expiresAt } = key.startsWith('once:') ? decodeOnce(plaintext, key, this.location) : decodeDoc(plaintext, key, this.location)
    return expiresAt === undefined || this.clock.now() < expiresAt
  }
}
