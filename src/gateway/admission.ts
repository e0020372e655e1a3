import type { ProxyError } from '../errors.js'
import type { CallerInfo } from './types.js'
import { refuse } from '../refusals.js'
import { firstMatch, hasParamRule, type PathRule, type PolicyInput } from '../rules/path-rules.js'
import { MemberSlots } from './concurrency.js'
import { checkKeyPolicy, keyJudgesParams } from './key-policy.js'
import type { MemberRateLimiter } from './rate-limit.js'

/** What the gateway asks of each member's request before it goes to Cloud 66. */
export interface Admission {
  /** The gateway-wide deny rules, then the key's own policy. Pure: a request may be judged twice. */
  judge(caller: CallerInfo, input: PolicyInput): ProxyError | undefined
  /** True when a `?param` rule binds this caller (the gateway's or the key's): bodies must be read. */
  judgesParams(caller: CallerInfo): boolean
  /** Counts the request against the member's budget (429 when it is spent). */
  admit(caller: CallerInfo): Promise<void>
  /** A slot of the member's share of the upstream pool, or the 429 that refuses one. */
  slot(caller: CallerInfo): (() => void) | ProxyError
}

/**
 * The gateway's admission: deny rules that bind every key (on by default for endpoints that turn
 * an API token into something bigger), each key's own policy, each member's budget and share of
 * the pool. Judging is kept apart from the budget so that a refused request costs none of it.
 */
export function createAdmission(options: { denyRules: readonly PathRule[]; limiter: MemberRateLimiter; memberConcurrency: number }): Admission {
  const { denyRules, limiter } = options
  const gatewayReadsParams = hasParamRule(denyRules)
  const slots = new MemberSlots(options.memberConcurrency)
  return {
    judge(caller, input) {
      const denied = firstMatch(denyRules, input)
      if (denied) return refuse.denyRule('gateway', denied.source)
      return caller.policy ? checkKeyPolicy(caller.policy, input) : undefined
    },
    judgesParams: (caller) => gatewayReadsParams || (caller.policy !== undefined && keyJudgesParams(caller.policy)),
    admit: (caller) => limiter.consume(caller.id),
    slot: (caller) => slots.take(caller.id) ?? refuse.tooManyConcurrent(options.memberConcurrency),
  }
}
