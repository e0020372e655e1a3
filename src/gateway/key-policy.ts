import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'
import { compileRules, decodedSegments, firstMatch, hasParamRule, type PathRule, type PolicyInput } from '../rules/path-rules.js'
import type { KeyPolicy } from './types.js'

interface Compiled {
  readonly policy: KeyPolicy
  readonly allow: readonly PathRule[] | undefined
  readonly deny: readonly PathRule[]
  readonly readsParams: boolean
}

const cache = new WeakMap<KeyPolicy, Compiled>()

function compiled(policy: KeyPolicy): Compiled {
  let c = cache.get(policy)
  if (!c) {
    const allow = policy.allowPaths && compileRules(policy.allowPaths)
    const deny = compileRules(policy.denyPaths ?? [])
    c = { policy, allow, deny, readsParams: hasParamRule(deny) || (allow !== undefined && hasParamRule(allow)) }
    cache.set(policy, c)
  }
  return c
}

/** The stack a request is about: the `:id` of `/stacks/:id/…`, percent-decoded. */
export function stackIdOf(apiPath: string): string | undefined {
  const segments = decodedSegments(apiPath)
  return segments[0] === 'stacks' && segments[1] !== undefined && segments[1] !== '' ? segments[1] : undefined
}

/** True when the key's rules name a `?param`: its requests' bodies must be read to judge them. */
export const keyJudgesParams = (policy: KeyPolicy): boolean => compiled(policy).readsParams

/** A key's own limits: read-only, methods, allow/deny paths, stack ids. */
export function checkKeyPolicy(policy: KeyPolicy, input: PolicyInput): ProxyError | undefined {
  if (policy.readOnly && input.method !== 'GET' && input.method !== 'HEAD') return refuse.readOnlyKey()
  if (policy.methods && !policy.methods.includes(input.method)) return refuse.keyMethod(input.method)
  const c = compiled(policy)
  if (c.allow && !firstMatch(c.allow, input)) return refuse.keyPath()
  const denied = firstMatch(c.deny, input)
  if (denied) return refuse.keyDenyRule(denied.source)
  if (policy.stackIds) {
    const stack = stackIdOf(input.apiPath)
    if (stack === undefined || !policy.stackIds.includes(stack)) return refuse.keyStacks()
  }
  return undefined
}
