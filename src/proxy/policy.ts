import type { Rejection } from '../http/guards.js'

/**
 * Path rules: `[METHOD ]PATTERN` or `?param`. PATTERN is an API path (with or without `/api/3`
 * and `.json`) whose `*` matches one segment and `**` any number of segments. Rules match the
 * percent-decoded path, so `/accounts/%6ftp` cannot dodge `/accounts/otp`.
 */
export interface PathRule {
  readonly source: string
  readonly method: string | undefined
  readonly segments: readonly string[] | undefined
  readonly param: string | undefined
}

export function compileRule(rule: string): PathRule | string {
  const trimmed = rule.trim()
  if (trimmed.startsWith('?')) {
    const param = trimmed.slice(1)
    return param === '' ? `"${rule}": a ?param rule needs a parameter name` : { source: trimmed, method: undefined, segments: undefined, param }
  }
  const m = /^(?:([A-Za-z]+)\s+)?(\/\S*)$/.exec(trimmed)
  if (!m) return `"${rule}": expected "[METHOD ]/path/pattern" or "?param"`
  const path = stripApiPath(m[2] ?? '/')
  return { source: trimmed, method: m[1]?.toUpperCase(), segments: asRouted(path.split('/').slice(1)), param: undefined }
}

function stripApiPath(path: string): string {
  let p = path === '/api/3' ? '/' : path.startsWith('/api/3/') ? path.slice(6) : path
  if (p.endsWith('.json')) p = p.slice(0, -5)
  return p
}

/** The decoded API path (no `/api/3`, no format suffix, no trailing slash), split into segments. */
export function decodedSegments(apiPath: string): string[] {
  return asRouted(
    stripApiPath(apiPath)
      .split('/')
      .slice(1)
      .map((s) => {
        try {
          return decodeURIComponent(s)
        } catch {
          return s
        }
      }),
  )
}

/**
 * Segments as Cloud 66's Rails router matches them: it ignores a trailing slash and reads any
 * `.ext` on the last segment as the response format (`:id` never holds a dot), so
 * `/accounts/otp/` and `/accounts/otp.xml` run the same action as `/accounts/otp`. Without this
 * both spellings walked past a `/accounts/otp` deny rule.
 */
function asRouted(segments: string[]): string[] {
  while (segments.length > 0 && segments[segments.length - 1] === '') segments.pop()
  const last = segments.length - 1
  const dot = last >= 0 ? (segments[last] ?? '').indexOf('.') : -1
  if (dot > 0) segments[last] = (segments[last] ?? '').slice(0, dot)
  return segments
}

/**
 * The parameter a query name sets in Rails: `include_private_key[]` and `include_private_key[x]`
 * both set `include_private_key` (Rack's nested-params syntax), so both must meet a `?` rule.
 */
function baseParamName(name: string): string {
  const bracket = name.indexOf('[')
  return bracket > 0 ? name.slice(0, bracket) : name
}

function matchSegments(pattern: readonly string[], path: readonly string[], i = 0, j = 0): boolean {
  if (i === pattern.length) return j === path.length
  const p = pattern[i]
  if (p === '**') {
    for (let k = j; k <= path.length; k++) if (matchSegments(pattern, path, i + 1, k)) return true
    return false
  }
  if (j === path.length) return false
  return (p === '*' || p === path[j]) && matchSegments(pattern, path, i + 1, j + 1)
}

export interface PolicyInput {
  readonly method: string
  readonly apiPath: string
  readonly paramNames: () => readonly string[]
}

/** Read-only mode and deny rules, decided once per request before the token is even looked up. */
export function createPolicy(readOnly: boolean, rules: readonly PathRule[]): (input: PolicyInput) => Rejection | undefined {
  return (input) => {
    if (readOnly && input.method !== 'GET' && input.method !== 'HEAD') {
      return { status: 403, code: 'read_only', reason: 'read_only', message: 'The proxy runs with --read-only: only GET and HEAD reach Cloud 66' }
    }
    if (rules.length === 0) return undefined
    const hit = firstMatch(rules, input)
    return hit && denied(hit)
  }
}

/** The first rule that matches the request (decoded path, method, decoded parameter names), if any. */
export function firstMatch(rules: readonly PathRule[], input: PolicyInput): PathRule | undefined {
  const segments = decodedSegments(input.apiPath)
  let names: readonly string[] | undefined
  for (const rule of rules) {
    if (rule.param !== undefined) {
      names ??= input.paramNames().map(baseParamName)
      if (names.includes(rule.param)) return rule
    } else if ((rule.method === undefined || rule.method === input.method) && rule.segments && matchSegments(rule.segments, segments)) {
      return rule
    }
  }
  return undefined
}

/** Compiles rules that were validated with the configuration (invalid ones cannot reach here). */
export function compileRules(rules: readonly string[]): PathRule[] {
  return rules.map(compileRule).filter((r): r is PathRule => typeof r !== 'string')
}

function denied(rule: PathRule): Rejection {
  return { status: 403, code: 'denied_by_policy', reason: 'policy', message: `Refused by the proxy's deny rule "${rule.source}"` }
}
