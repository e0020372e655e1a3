import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type IRateLimiterStoreOptions } from 'rate-limiter-flexible'
import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'
import type { Rate } from '../config/types.js'

export interface MemberRateLimiter {
  /** Counts one API request for the member; throws a 429 ProxyError with Retry-After when over budget. */
  consume(memberId: string): Promise<void>
}

/**
 * A budget per key (rate-limiter-flexible). With Redis the count is shared by every replica;
 * if Redis is down, an in-memory limiter with the same budget takes over (its insurance
 * limiter), so an outage neither blocks callers nor lets them past the per-replica limit.
 */
function createLimiter(rate: Rate, redis: unknown | undefined, keyPrefix: string, tooMany: (retryAfterSeconds: number) => ProxyError) {
  const base = { points: rate.points, duration: rate.durationSeconds, keyPrefix }
  const memory = new RateLimiterMemory(base)
  const limiter = redis === undefined ? memory : new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: memory } as IRateLimiterStoreOptions)
  return {
    async consume(key: string): Promise<void> {
      try {
        await limiter.consume(key, 1)
      } catch (res) {
        if (res instanceof RateLimiterRes) throw tooMany(Math.max(1, Math.ceil(res.msBeforeNext / 1000)))
        throw res
      }
    },
  }
}

/** Per-member budget of API requests. */
export function createMemberRateLimiter(rate: Rate, redis: unknown | undefined): MemberRateLimiter {
  return createLimiter(rate, redis, 'c66p:rate', (after) => refuse.memberRate(rate.text, after))
}

/**
 * Logins a client address may start: each one costs a pending-login record in the shared store
 * and a round trip, and a stranger may start them without any credential.
 */
export function createLoginRateLimiter(rate: Rate, redis: unknown | undefined): { consume(clientAddress: string): Promise<void> } {
  return createLimiter(rate, redis, 'c66p:login', (after) => refuse.loginRate(rate.text, after))
}
