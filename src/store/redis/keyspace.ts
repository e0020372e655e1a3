import type { RedisConnection } from './connection.js'

/**
 * This store's share of a Redis: every key and channel starts with the prefix, so several gateways
 * (or tests) can share one Redis. Records are `<prefix><record key>` (see document.ts), locks
 * `<prefix>lock:<name>`, channels `<prefix>chan:<channel>`.
 */
export class RedisKeyspace {
  constructor(
    private readonly connection: RedisConnection,
    readonly prefix: string,
  ) {}

  key(logical: string): string {
    return this.prefix + logical
  }

  /** Logical keys (without the prefix) that start with `logicalPrefix`, from every master of a cluster. */
  async scan(logicalPrefix: string): Promise<string[]> {
    const pattern = `${escapeGlob(this.prefix + logicalPrefix)}*`
    const found = new Set<string>()
    for (const node of await this.connection.masters()) {
      let cursor = '0'
      do {
        const [next, keys] = await this.connection.run('SCAN', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000))
        // SCAN may return a key twice; a Set keeps one.
        for (const key of keys) found.add(key.slice(this.prefix.length))
        cursor = next
      } while (cursor !== '0')
    }
    return [...found]
  }

  /** Up to `limit` logical record keys from the first SCAN page of each master: a sample, not a listing. */
  async sampleRecords(limit: number): Promise<string[]> {
    const sample: string[] = []
    for (const node of await this.connection.masters()) {
      const [, keys] = await this.connection.run('SCAN', () => node.scan('0', 'MATCH', `${escapeGlob(this.prefix)}*`, 'COUNT', 200))
      for (const fullKey of keys) {
        const key = fullKey.slice(this.prefix.length)
        if (isRecordKey(key) && sample.length < limit) sample.push(key)
      }
    }
    return sample
  }
}

function isRecordKey(key: string): boolean {
  return key.startsWith('token:') || key.startsWith('once:') || key.startsWith('doc:')
}

/** Escapes SCAN MATCH's glob characters, so a prefix or an encoded name matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\^]/g, (c) => `\\${c}`)
}
