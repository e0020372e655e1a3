import { randomBytes } from 'node:crypto'
import { StoreError } from '../types.js'
import type { RedisConnection } from './connection.js'
import type { RedisKeyspace } from './keyspace.js'
import { deleteIfHolds } from './lock.js'
import type { SealedValues } from './sealed-values.js'

/** check() opens this many existing records, so a wrong secret stops start-up instead of every request. */
const CHECK_SAMPLE = 20
/** Re-seal: replace a value only if it is still the one that was read, keeping its expiry. */
const SWAP_IF_HOLDS = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 else return 0 end`

/** The operations over the whole store rather than one record: the start-up check, and re-sealing after a key rotation. */
export class RedisMaintenance {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keyspace: RedisKeyspace,
    private readonly values: SealedValues,
  ) {}

  /** Redis must take a write and give it back, and a sample of the records there must open with our key ring. */
  async check(): Promise<void> {
    const location = this.connection.location
    await this.connection.run('a write/read/delete check', async (c) => {
      const probe = this.keyspace.key(`probe:${randomBytes(8).toString('hex')}`)
      const value = randomBytes(16).toString('hex')
      await c.set(probe, value, 'PX', 60_000)
      const back = await c.get(probe)
      await c.del(probe)
      if (back !== value)
        throw new StoreError('store_unavailable', `Redis at ${location} did not return what was just written to it; is it a read-only replica?`)
    })
    // A sample of what is there must open: a wrong C66_PROXY_SECRET stops start-up here.
    for (const key of await this.keyspace.sampleRecords(CHECK_SAMPLE)) {
      const raw = await this.connection.run('GET', (c) => c.get(this.keyspace.key(key)))
      if (raw !== null) this.values.isLive(key, raw)
    }
  }

  /** Re-seals every record with the current key; returns how many live records there are. */
  async reseal(): Promise<number> {
    let count = 0
    for (const prefix of ['token:', 'once:', 'doc:']) {
      for (const key of await this.keyspace.scan(prefix)) if (await this.#resealOne(key)) count++
    }
    return count
  }

  /** Re-seals one record with the current key unless it changed meanwhile (then tries again). True if it is live. */
  async #resealOne(key: string): Promise<boolean> {
    const fullKey = this.keyspace.key(key)
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.connection.run('GET', (c) => c.get(fullKey))
      if (raw === null) return false
      if (!this.values.isLive(key, raw)) {
        // Expired: dropped, unless it was written again since it was read.
        await deleteIfHolds(this.connection, fullKey, raw)
        return false
      }
      const resealed = this.values.seal(key, this.values.open(key, raw))
      if ((await this.connection.run('EVAL', (c) => c.eval(SWAP_IF_HOLDS, 1, fullKey, raw, resealed))) === 1) return true
    }
    throw new StoreError('store_locked', `Could not re-seal record "${key}" in Redis at ${this.connection.location}: it kept changing. Run the rotation again.`)
  }
}
