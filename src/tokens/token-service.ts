import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { ProxyError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { Secret } from '../secret.js'
import type { StoredToken, TokenStore } from '../store/types.js'
import type { LocalTokenSources, Resolution, TokenSourceName } from './local-sources.js'
import { LoginRequiredError, isExpired, wantsRefresh, type Refresher } from './refresh.js'

/** How long an answer read from files is trusted without a change notification. */
const FILE_ANSWER_TTL_MS = 1_000
/** Environment-variable answers cannot change while we run. */
const ENV_ANSWER_TTL_MS = 24 * 3_600_000

/** The one caller of local mode; the gateway brings more. */
export const LOCAL_CALLER = 'local'

/** The token a request will carry, and where it came from. */
export interface ActiveToken {
  readonly token: Secret
  readonly source: 'store' | TokenSourceName
  /** The store's location, an environment variable name, or a file path. */
  readonly location: string
  /** Set when the token came from the store (OAuth login, `token set`, `token import-cx`). */
  readonly stored: StoredToken | undefined
}

/** Everything known about a caller's token, for the status page and `c66-proxy status`. */
export interface TokenReport {
  readonly active: ActiveToken | undefined
  /** The stored token, even when it is not used (login required). */
  readonly stored: StoredToken | undefined
  readonly local: Resolution | undefined
  readonly loginRequired: boolean
  /** Cloud 66's last answer to this token was a 401 and no replacement was found. */
  readonly rejected: boolean
}

interface Entry {
  readonly active: ActiveToken | undefined
  readonly stored: StoredToken | undefined
  readonly local: Resolution | undefined
}

export interface TokenServiceDeps {
  readonly store: TokenStore
  /** Local mode's environment and file sources; undefined in gateway mode. */
  readonly sources: LocalTokenSources | undefined
  readonly refresher: Refresher
  readonly clock: Clock
  readonly metrics: Metrics
  readonly refreshSkewMs: number
}

/**
 * The token for a caller: the lru-cache, else the store, else the local-mode sources.
 * A cache entry never outlives its token; a token near expiry is refreshed (once, see Refresher)
 * before it is used; an upstream 401 evicts the entry and looks for a replacement once.
 */
export class TokenService {
  readonly #cache: LRUCache<string, Entry>
  readonly #stopWatching: () => void
  /** Per caller, the fingerprint Cloud 66 last answered 401 to (with nothing to replace it). */
  readonly #rejected = new Map<string, string>()

  constructor(private readonly deps: TokenServiceDeps) {
    this.#cache = new LRUCache<string, Entry>({
      max: 10_000,
      ttl: ENV_ANSWER_TTL_MS,
      // Read the clock on every lookup. The default (1 ms) caches it and starts a 1 ms timer to
      // forget it: a timer per request when requests come one at a time (CPU profile at one connection),
      // where performance.now() itself costs a few tens of nanoseconds.
      ttlResolution: 0,
      // clear()/delete() (a change notification, a 401) must not fail lookups already in flight:
      // lru-cache would reject them with Error('deleted') and the request would become a 500.
      ignoreFetchAbort: true,
      fetchMethod: async (caller, _stale, { options }) => {
        const entry = await this.#load(caller)
        options.ttl = this.#ttlFor(entry)
        return entry
      },
    })
    this.#stopWatching = deps.sources?.watch(() => this.#cache.clear()) ?? (() => undefined)
  }

  /**
   * The hot path's shortcut: the cached token when it can be used as it is (no load, no refresh),
   * without the promise and microtasks of tokenFor(). undefined means "ask tokenFor()".
   */
  cachedToken(caller: string = LOCAL_CALLER): ActiveToken | undefined {
    const active = this.#cache.get(caller)?.active
    const stored = active?.stored
    if (!active || (stored && (isExpired(stored, this.deps.clock) || wantsRefresh(stored, this.deps.clock, this.deps.refreshSkewMs)))) return undefined
    this.#count(active, true)
    return active
  }

  /**
   * The token to send for this caller, or undefined when there is none. Throws a 401
   * `login_required` ProxyError when the stored login is no longer usable and nothing replaces it.
   */
  async tokenFor(caller: string = LOCAL_CALLER): Promise<ActiveToken | undefined> {
    let cached = this.#cache.get(caller)
    // lru-cache times entries on the monotonic clock, which stands still while a laptop sleeps,
    // and a TTL set from one clock cannot follow jumps of the other; the token's expiry is wall
    // time. A cached token that has expired with nothing to renew it is dropped here, so the entry
    // never outlives the token (one with a refresh token is renewed just below).
    const held = cached?.active?.stored
    if (held && held.refreshToken === undefined && isExpired(held, this.deps.clock)) {
      this.#cache.delete(caller)
      cached = undefined
    }
    const entry = cached ?? (await this.#cache.fetch(caller))
    this.#count(entry?.active, cached !== undefined)
    const active = entry?.active
    if (active?.stored && wantsRefresh(active.stored, this.deps.clock, this.deps.refreshSkewMs)) return this.#refreshed(caller, active)
    if (!active && entry?.stored && this.#needsLogin(entry.stored)) throw loginRequired()
    return active
  }

  /**
   * Cloud 66 answered 401 to `used`: evict, then refresh or re-read once. Returns a different
   * token to replay with, or undefined (the 401 stands; the status shows why).
   */
  async onUnauthorized(caller: string, used: Secret): Promise<Secret | undefined> {
    this.#cache.delete(caller)
    const stored = await this.deps.store.getToken(caller)
    if (stored && !stored.loginRequired && !stored.accessToken.equals(used)) return stored.accessToken
    if (stored && stored.accessToken.equals(used)) {
      try {
        const next = await this.deps.refresher.refresh(caller, stored, true)
        this.#cache.delete(caller)
        return next.accessToken
      } catch (err) {
        if (!(err instanceof LoginRequiredError)) return undefined
        this.deps.metrics.retries.inc({ action: 'login_required' })
      }
    }
    const local = await this.deps.sources?.resolve()
    const candidate = local?.snapshot?.token
    if (candidate && !candidate.equals(used)) return candidate
    this.#rejected.set(caller, used.fingerprint)
    return undefined
  }

  /**
   * Cloud 66 answered one of this caller's requests with something other than 401, so it accepts
   * the token now: the status page stops saying it was rejected (as /-/readyz never did). Called
   * for every forwarded request, hence the cheap test first.
   */
  accepted(caller: string): void {
    if (this.#rejected.size !== 0) this.#rejected.delete(caller)
  }

  /** Forgets what is cached for a caller (after a login, logout or `token set`). */
  evict(caller: string = LOCAL_CALLER): void {
    this.#cache.delete(caller)
    this.#rejected.delete(caller)
  }

  async describe(caller: string = LOCAL_CALLER): Promise<TokenReport> {
    const entry = (await this.#cache.fetch(caller)) ?? (await this.#load(caller))
    return {
      active: entry.active,
      stored: entry.stored,
      local: entry.local ?? (await this.deps.sources?.resolve()),
      loginRequired: entry.stored !== undefined && this.#needsLogin(entry.stored) && !entry.active,
      rejected: entry.active !== undefined && this.#rejected.get(caller) === entry.active.token.fingerprint,
    }
  }

  close(): void {
    this.#stopWatching()
    this.#cache.clear()
  }

  async #load(caller: string): Promise<Entry> {
    const stored = await this.deps.store.getToken(caller)
    if (stored && !this.#needsLogin(stored)) {
      return { active: { token: stored.accessToken, source: 'store', location: this.deps.store.location, stored }, stored, local: undefined }
    }
    const local = await this.deps.sources?.resolve()
    const snap = local?.snapshot
    return { active: snap && { token: snap.token, source: snap.source, location: snap.location, stored: undefined }, stored, local }
  }

  /**
   * The stored login cannot be used any more: marked so (revoked, refresh refused), or expired with
   * no refresh token to renew it. Either way only a new login helps, and saying "no token" would
   * send the user looking for CLOUD66_ACCESS_TOKEN instead.
   */
  #needsLogin(stored: StoredToken): boolean {
    return stored.loginRequired === true || (isExpired(stored, this.deps.clock) && stored.refreshToken === undefined)
  }

  #ttlFor(entry: Entry): number {
    const expiresAt = entry.active?.stored?.expiresAt
    if (expiresAt !== undefined) return Math.max(1, Math.min(ENV_ANSWER_TTL_MS, expiresAt - this.deps.clock.now()))
    if (entry.active?.source === 'store') return ENV_ANSWER_TTL_MS
    return entry.local?.fromFiles === false && entry.active ? ENV_ANSWER_TTL_MS : FILE_ANSWER_TTL_MS
  }

  async #refreshed(caller: string, active: ActiveToken): Promise<ActiveToken> {
    const stored = active.stored as StoredToken
    try {
      const next = await this.deps.refresher.refresh(caller, stored, false, this.deps.refreshSkewMs)
      const fresh: ActiveToken = { ...active, token: next.accessToken, stored: next }
      this.#cache.set(caller, { active: fresh, stored: next, local: undefined }, { ttl: this.#ttlFor({ active: fresh, stored: next, local: undefined }) })
      return fresh
    } catch (err) {
      this.#cache.delete(caller)
      if (err instanceof LoginRequiredError) throw loginRequired()
      // Cloud 66's OAuth endpoint is down: a token that has not expired yet still works.
      if (!isExpired(stored, this.deps.clock)) return active
      throw new ProxyError('oauth_unavailable', 503, 'The Cloud 66 token expired and could not be refreshed right now; try again shortly', { cause: err })
    }
  }

  #count(active: ActiveToken | undefined, hit: boolean): void {
    const source = active ? active.source : 'none'
    const result = active ? (hit ? 'cache_hit' : 'loaded') : 'missing'
    this.deps.metrics.lookupCounts.add(source, result)
  }
}

export function loginRequired(): ProxyError {
  return new ProxyError(
    'login_required',
    401,
    'The Cloud 66 login is no longer valid (revoked, or the refresh failed). Log in again: open http://<this proxy>/-/login or run `c66-proxy login`.',
  )
}
