import { queryParamNames } from '../../src/proxy/request-body.js'
import { mapTarget } from '../../src/proxy/target.js'
import type { PolicyInput } from '../../src/rules/path-rules.js'

/**
 * The policy input the proxy builds for a request (src/proxy/handler.ts): the method, the mapped
 * API path and the query's decoded parameter names, then `bodyNames` as if a body had been read.
 */
export function policyInput(method: string, rawUrl: string, bodyNames: readonly string[] = []): PolicyInput {
  const target = mapTarget(rawUrl)
  return { method, apiPath: target.apiPath, paramNames: () => [...queryParamNames(target.query), ...bodyNames] }
}
