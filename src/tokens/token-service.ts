import { LRUCache } from 'lru-cache'
import type { Metrics } from '../metrics.js'
import type { LocalTokenSources, Resolution, TokenSnapshot } from './local-sources.js'

/** How long an answer read from files is trusted without a change notification. */
const FILE_ANSWER_TTL_MS = 1_000
/** Environment-variable answers cannot change while we run. */
const ENV_ANSWER_TTL_MS = 24 * 3_600_000

/** The one caller of local mode; the gateway issue brings more. */
export const LOCAL_CALLER = 'local'

/**
 * Looks up the token for a caller: the lru-cache first, then the sources. File-backed answers
 * live for a second at most and are dropped at once when a watched directory changes, so a
 * rewritten token file is used by the next request.
 */
export class TokenService {
  readonly #cache: LRUCache<string, Resolution>
  readonly #stopWatching: () => void
  readonly #count: {
    hit: (source: string) => void
    loaded: (source: string) => void
    missing: () => void
  }

  constructor(
    private readonly sources: LocalTokenSources,
    metrics: Metrics,
  ) {
    this.#cache = new LRUCache<string, Resolution>({
      max: 1_000,
      ttl: ENV_ANSWER_TTL_MS,
      // clear() (a change notification) and delete() (reload after a 401) abort lookups that are
      // in flight; by default lru-cache then rejects them with Error('deleted'), which turned a
      // request that arrived while the token file was being rewritten into a 500. With this the
      // lookup finishes and its caller gets the answer; it is just not cached, so the next
      // request reads the sources again.
      ignoreFetchAbort: true,
      fetchMethod: async (_caller, _stale, { options }) => {
        const resolution = await this.sources.resolve()
        options.ttl = resolution.fromFiles ? FILE_ANSWER_TTL_MS : ENV_ANSWER_TTL_MS
        return resolution
      },
    })
    this.#stopWatching = sources.watch(() => this.#cache.clear())
    this.#count = {
      hit: (source) => metrics.tokenLookups.inc({ source, result: 'cache_hit' }),
      loaded: (source) => metrics.tokenLookups.inc({ source, result: 'loaded' }),
      // The metric's help promises a `missing` result: a lookup that found no token is counted
      // as that, not as a cache hit or load of a source called "none".
      missing: () => metrics.tokenLookups.inc({ source: 'none', result: 'missing' }),
    }
  }

  /** The token to use for this caller, or undefined when no source has one. */
  async tokenFor(caller: string = LOCAL_CALLER): Promise<TokenSnapshot | undefined> {
    const cached = this.#cache.get(caller)
    if (cached) {
      if (cached.snapshot) this.#count.hit(cached.snapshot.source)
      else this.#count.missing()
      return cached.snapshot
    }
    const resolution = await this.#cache.fetch(caller)
    if (resolution?.snapshot) this.#count.loaded(resolution.snapshot.source)
    else this.#count.missing()
    return resolution?.snapshot
  }

  /** Forgets what is cached and reads the sources again (after an upstream 401). */
  async reload(caller: string = LOCAL_CALLER): Promise<TokenSnapshot | undefined> {
    this.#cache.delete(caller)
    return this.tokenFor(caller)
  }

  /** The full report of every source, for the status page and `c66-proxy status`. */
  async describe(caller: string = LOCAL_CALLER): Promise<Resolution> {
    return (await this.#cache.fetch(caller)) ?? (await this.sources.resolve())
  }

  close(): void {
    this.#stopWatching()
    this.#cache.clear()
  }
}
