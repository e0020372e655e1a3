import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type IRateLimiterStoreOptions } from 'rate-limiter-flexible'
import { ProxyError } from '../errors.js'
import type { GatewayConfig } from '../config/types.js'

export interface MemberRateLimiter {
  /** Counts one API request for the member; throws a 429 ProxyError (with retryAfterSeconds) when over budget. */
  consume(memberId: string): Promise<void>
}

export class RateLimitedError extends ProxyError {
  constructor(readonly retryAfterSeconds: number, rate: string) {
    super('rate_limited', 429, `This member's gateway budget (${rate}) is used up; retry in ${retryAfterSeconds} s. Cloud 66 allows 3,000 requests per user per hour.`, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    })
  }
}

/**
 * Per-member budget (rate-limiter-flexible). With Redis the count is shared by every replica;
 * if Redis is down, an in-memory limiter with the same budget takes over (its insurance
 * limiter), so an outage neither blocks members nor lets them past the per-replica limit.
 */
export function createMemberRateLimiter(rate: GatewayConfig['memberRate'], redis: unknown | undefined): MemberRateLimiter {
  const base = { points: rate.points, duration: rate.durationSeconds, keyPrefix: 'c66p:rate' }
  const memory = new RateLimiterMemory(base)
  const limiter = redis === undefined
    ? memory
    : new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: memory } as IRateLimiterStoreOptions)
  return {
    async consume(memberId) {
      try {
        await limiter.consume(memberId, 1)
      } catch (res) {
        if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)), rate.text)
        throw res
      }
    },
  }
}
