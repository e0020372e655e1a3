import type { Clock } from '../../clock.js'
import { recordKey } from '../document.js'
import { encodeDoc, encodeOnce, encodeToken } from '../token-codec.js'
import type { StoredToken } from '../types.js'
import type { RedisConnection } from './connection.js'
import type { RedisKeyspace } from './keyspace.js'
import type { SealedValues } from './sealed-values.js'

/** Redis drops expiring values this long after the clock says they expired (it is only garbage collection). */
const GC_GRACE_MS = 1_000

/**
 * Tokens, one-time values and documents: one string per record, `<prefix><record key>`, with the
 * record keys of the file format (`token:<caller>`, `once:<ns>:<id>`, `doc:<ns>:<id>`, see
 * document.ts), each value sealed (sealed-values.ts).
 */
export class RedisRecords {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keyspace: RedisKeyspace,
    private readonly values: SealedValues,
    /** Decides expiry (sealed into the value); Redis's PX only collects the garbage. */
    private readonly clock: Clock,
  ) {}

  async getToken(caller: string): Promise<StoredToken | undefined> {
    const key = recordKey.token(caller)
    const raw = await this.#get(key)
    return raw === null ? undefined : this.values.token(key, raw)
  }

  async putToken(caller: string, token: StoredToken): Promise<void> {
    const key = recordKey.token(caller)
    const value = this.values.seal(key, encodeToken(token))
    await this.connection.run('SET', (c) => c.set(this.keyspace.key(key), value))
  }

  async deleteToken(caller: string): Promise<boolean> {
    return (await this.connection.run('DEL', (c) => c.del(this.keyspace.key(recordKey.token(caller))))) > 0
  }

  async listCallers(): Promise<string[]> {
    const callers: string[] = []
    for (const key of await this.keyspace.scan('token:')) {
      const caller = recordKey.callerOf(key)
      if (caller !== undefined) callers.push(caller)
    }
    return callers.sort()
  }

  async putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    const key = recordKey.once(namespace, id)
    const sealed = this.values.seal(key, encodeOnce(value, this.clock.now() + ttlMs))
    await this.connection.run('SET', (c) => c.set(this.keyspace.key(key), sealed, 'PX', gcAfter(ttlMs)))
  }

  async takeOnce(namespace: string, id: string): Promise<string | undefined> {
    const key = recordKey.once(namespace, id)
    // GETDEL: of two replicas taking the same value at once, exactly one gets it.
    const raw = await this.connection.run('GETDEL', (c) => c.getdel(this.keyspace.key(key)))
    return raw === null ? undefined : this.values.liveOnce(key, raw)
  }

  async putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    const key = recordKey.doc(namespace, id)
    const sealed = this.values.seal(key, encodeDoc(value, ttlMs === undefined ? undefined : this.clock.now() + ttlMs))
    // A plain SET also drops the PX of a replaced expiring document.
    await this.connection.run('SET', (c) =>
      ttlMs === undefined ? c.set(this.keyspace.key(key), sealed) : c.set(this.keyspace.key(key), sealed, 'PX', gcAfter(ttlMs)),
    )
  }

  async getDoc(namespace: string, id: string): Promise<string | undefined> {
    const key = recordKey.doc(namespace, id)
    const raw = await this.#get(key)
    return raw === null ? undefined : this.values.liveDoc(key, raw)
  }

  async deleteDoc(namespace: string, id: string): Promise<boolean> {
    const key = recordKey.doc(namespace, id)
    const raw = await this.connection.run('GETDEL', (c) => c.getdel(this.keyspace.key(key)))
    if (raw === null) return false
    try {
      // An expired document was already gone as far as anyone could see.
      return this.values.liveDoc(key, raw) !== undefined
    } catch {
      // It was there, and is deleted, even if it no longer opens.
      return true
    }
  }

  async listDocs(namespace: string): Promise<Array<{ id: string; value: string }>> {
    const keys = await this.keyspace.scan(recordKey.docPrefix(namespace))
    const raws = await Promise.all(keys.map((key) => this.#get(key)))
    const docs: Array<{ id: string; value: string }> = []
    keys.forEach((key, i) => {
      const id = recordKey.docIdOf(namespace, key)
      const raw = raws[i]
      // Deleted between the scan and the read: not there.
      if (id === undefined || raw === null || raw === undefined) return
      const value = this.values.liveDoc(key, raw)
      if (value !== undefined) docs.push({ id, value })
    })
    return docs
  }

  #get(key: string): Promise<string | null> {
    return this.connection.run('GET', (c) => c.get(this.keyspace.key(key)))
  }
}

/** Redis's PX for a value the clock expires after `ttlMs`: a little later, and never zero or negative. */
function gcAfter(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs)) + GC_GRACE_MS
}
