// What OAuth adds to the API's token check: tokens that expire, and a hook that runs whenever a
// token is presented, which is when Doorkeeper revokes the pair a refreshed token was minted from.
// auth.ts's 401 knows only "invalid" and "revoked", so an expired token leaves check() as a
// TokenExpired throw, and the router below turns that into Doorkeeper's "The access token
// expired" 401.
import type { ServerResponse } from 'node:http'
import type { Clock } from '../clock.js'
import { TokenRegistry } from './auth.js'
import type { TokenCheck } from './auth.js'
import { Router } from './router.js'
import type { RouteHandler } from './router.js'

/** Told about every token presented to an API endpoint and every token revoked. */
export interface TokenListener {
  /** Runs before the check, for valid and invalid tokens alike (Doorkeeper's `authenticate`). */
  presented(token: string): void
  revoked(token: string): void
}

/** What the registry knows of a token, read without side effects. */
export interface TokenFacts {
  readonly check: TokenCheck
  /** ms since the epoch (the simulator's clock). */
  readonly createdAt: number | undefined
  readonly expiresAt: number | undefined
  readonly expired: boolean
}

/** Thrown by OAuthTokenRegistry.check for an expired token; answered by ExpiryAwareRouter. */
export class TokenExpired extends Error {
  constructor() {
    super('The access token expired')
    this.name = 'TokenExpired'
  }
}

export class OAuthTokenRegistry extends TokenRegistry {
  readonly #clock: Clock
  readonly #createdAt = new Map<string, number>()
  readonly #expiresAt = new Map<string, number>()
  #listener: TokenListener | undefined

  constructor(clock: Clock) {
    super()
    this.#clock = clock
  }

  listen(listener: TokenListener): void {
    this.#listener = listener
  }

  /** (Re)validates `token`; a re-set token is fresh: created now, never expiring until told. */
  override set(token: string, scopes: readonly string[]): void {
    super.set(token, scopes)
    this.#createdAt.set(token, this.#clock.now())
    this.#expiresAt.delete(token)
  }

  override revoke(token: string): void {
    super.revoke(token)
    this.#listener?.revoked(token)
  }

  /** `at` in ms on the simulator's clock; the token is expired once the clock is past it. */
  setExpiry(token: string, at: number | undefined): void {
    if (at === undefined) this.#expiresAt.delete(token)
    else this.#expiresAt.set(token, at)
  }

  /**
   * The API's token check. Revoked wins over expired, as in Doorkeeper's InvalidTokenResponse.
   * Throws TokenExpired for a valid but expired token.
   */
  override check(token: string): TokenCheck {
    this.#listener?.presented(token)
    const facts = this.facts(token)
    if (facts.check.valid && facts.expired) throw new TokenExpired()
    return facts.check
  }

  facts(token: string): TokenFacts {
    const check = super.check(token)
    const expiresAt = this.#expiresAt.get(token)
    // Doorkeeper's Expirable#expired?: `Time.now.utc > expires_at`, strictly later.
    const expired = expiresAt !== undefined && this.#clock.now() > expiresAt
    return { check, createdAt: this.#createdAt.get(token), expiresAt, expired }
  }
}

/** Doorkeeper's 401 for an expired token: auth.ts's sendUnauthorized with the third description. */
export function sendExpired(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(401, {
    'content-type': 'text/html',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'www-authenticate': 'Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token expired"',
    'content-length': 0,
  })
  res.end()
}

/** A Router whose handlers answer a TokenExpired from the token check with the expired 401. */
export class ExpiryAwareRouter extends Router {
  override on(methods: string | readonly string[], pattern: string, handler: RouteHandler): this {
    return super.on(methods, pattern, answerExpired(handler))
  }
}

function answerExpired(handler: RouteHandler): RouteHandler {
  return (ctx) => {
    const onError = (err: unknown): void => {
      if (err instanceof TokenExpired) sendExpired(ctx.res)
      else throw err
    }
    try {
      const pending = handler(ctx)
      return pending instanceof Promise ? pending.catch(onError) : pending
    } catch (err) {
      return onError(err)
    }
  }
}
