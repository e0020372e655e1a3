import type { Clock } from '../clock.js'
import type { OAuthClient } from '../oauth/client.js'
import { OAuthError } from '../oauth/errors.js'
import type { StoredToken, TokenStore } from '../store/types.js'

/** Default: refresh a minute before expiry… */
export const DEFAULT_REFRESH_SKEW_MS = 60_000

/** …but never earlier than half-way through the token's life, so short-lived tokens are not refreshed on every request. */
export function refreshSkew(token: StoredToken, skewMs: number): number {
  if (token.expiresAt === undefined) return 0
  const lifetime = Math.max(0, token.expiresAt - token.obtainedAt)
  return Math.min(skewMs, lifetime / 2)
}

export function isExpired(token: StoredToken, clock: Clock): boolean {
  return token.expiresAt !== undefined && clock.now() >= token.expiresAt
}

/** True when the token expires within its skew and can be refreshed. */
export function wantsRefresh(token: StoredToken, clock: Clock, skewMs: number): boolean {
  return token.refreshToken !== undefined && token.expiresAt !== undefined && clock.now() >= token.expiresAt - refreshSkew(token, skewMs)
}

export type RefreshOutcome = 'success' | 'adopted' | 'invalid_grant' | 'error'

export interface RefreshHooks {
  /** Counted once per refresh that went to /oauth/token or was adopted from another process. */
  outcome(outcome: RefreshOutcome): void
  /** Counted for each caller that waited on a refresh already in flight in this process. */
  coalesced(): void
}

/** The caller must log in again: the refresh token was refused for good (or there is none). */
export class LoginRequiredError extends Error {
  override readonly name = 'LoginRequiredError'
}

/**
 * Refreshes a caller's token exactly once at a time: an in-process single flight, then the
 * store's cross-process lock, then a re-read under the lock (another process or replica may
 * have refreshed already: Doorkeeper rotates refresh tokens, so refreshing twice would burn
 * the rotated pair: oauth2-proxy and several subscription proxies logged users out that way). The new pair is stored before it is used.
 * On `invalid_grant` the store is read again and a sibling's newer token adopted; otherwise
 * the caller is marked as needing a login.
 */
export class Refresher {
  readonly #inflight = new Map<string, Promise<StoredToken>>()

  constructor(
    private readonly store: TokenStore,
    private readonly oauth: OAuthClient | undefined,
    private readonly clock: Clock,
    private readonly hooks: RefreshHooks,
  ) {}

  /**
   * `seen` is the token the caller has; `force` refreshes even if it is not near expiry (after a 401).
   * `skewMs` is the caller's refresh skew (`--refresh-skew`), so the re-check under the lock agrees
   * with the caller's own decision instead of a default the user did not choose.
   */
  refresh(caller: string, seen: StoredToken, force: boolean, skewMs: number = DEFAULT_REFRESH_SKEW_MS): Promise<StoredToken> {
    const running = this.#inflight.get(caller)
    if (running) {
      this.hooks.coalesced()
      return running
    }
    const flight = this.store.withLock(`refresh:${caller}`, () => this.#refreshLocked(caller, seen, force, skewMs)).finally(() => this.#inflight.delete(caller))
    this.#inflight.set(caller, flight)
    return flight
  }

  async #refreshLocked(caller: string, seen: StoredToken, force: boolean, skewMs: number): Promise<StoredToken> {
    const latest = (await this.store.getToken(caller)) ?? seen
    // Someone else already refreshed (or the user logged in again) while we waited for the lock.
    if (!latest.accessToken.equals(seen.accessToken) && !latest.loginRequired) {
      this.hooks.outcome('adopted')
      return latest
    }
    // With DEFAULT_REFRESH_SKEW_MS here, a configured skew above a minute was ignored: the caller
    // asked for a refresh, this answered with the same token, and every request until the last
    // minute took the lock and re-read the store for nothing.
    if (!force && !wantsRefresh(latest, this.clock, skewMs) && !isExpired(latest, this.clock)) return latest
    if (!latest.refreshToken || !this.oauth) throw await this.#markLoginRequired(caller, latest, 'no refresh token')
    try {
      const next = await this.oauth.refresh(latest.refreshToken)
      const merged: StoredToken = {
        ...next,
        // RFC 6749 §6: the server may keep the old refresh token and scope; keep ours then.
        refreshToken: next.refreshToken ?? latest.refreshToken,
        scope: next.scope ?? latest.scope,
      }
      await this.store.putToken(caller, merged) // store the rotated pair before anyone uses it
      this.hooks.outcome('success')
      return merged
    } catch (err) {
      if (err instanceof OAuthError && err.kind === 'invalid_grant') {
        const again = await this.store.getToken(caller)
        if (again && !again.accessToken.equals(latest.accessToken) && !again.loginRequired) {
          this.hooks.outcome('adopted')
          return again
        }
        this.hooks.outcome('invalid_grant')
        throw await this.#markLoginRequired(caller, latest, 'the refresh token was refused')
      }
      this.hooks.outcome('error')
      throw err
    }
  }

  async #markLoginRequired(caller: string, token: StoredToken, why: string): Promise<LoginRequiredError> {
    if (!token.loginRequired) await this.store.putToken(caller, { ...token, loginRequired: true })
    return new LoginRequiredError(`Cloud 66 login required: ${why}`)
  }
}
