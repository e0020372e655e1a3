import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'
import { firstMatch, hasParamRule, type PathRule, type PolicyInput } from '../rules/path-rules.js'

/** Read-only mode and deny rules, decided before the token is even looked up. */
export interface Policy {
  (input: PolicyInput): ProxyError | undefined
  /** True when a `?param` rule is among the rules: bodies must then be read to judge a request. */
  readonly readsParams: boolean
}

export function createPolicy(readOnly: boolean, rules: readonly PathRule[]): Policy {
  const judge = (input: PolicyInput): ProxyError | undefined => {
    if (readOnly && input.method !== 'GET' && input.method !== 'HEAD') {
      return refuse.readOnly()
    }
    if (rules.length === 0) return undefined
    const hit = firstMatch(rules, input)
    return hit && refuse.denyRule('proxy', hit.source)
  }
  return Object.assign(judge, { readsParams: hasParamRule(rules) })
}
