import { paramTokens } from './param-names.js'

/**
 * Path rules: `[METHOD ]PATTERN` or `?param`. PATTERN is an API path (with or without `/api/3`
 * and `.json`) whose `*` matches one segment and `**` any number of segments. Rules match the
 * percent-decoded path, so `/accounts/%6ftp` cannot dodge `/accounts/otp`. A `?param` rule
 * matches a parameter of that name at any nesting level, in the query or in the body.
 */
export interface PathRule {
  readonly source: string
  readonly method: string | undefined
  readonly segments: readonly string[] | undefined
  readonly param: string | undefined
}

/** The methods Cloud 66's API answers; a rule naming another one (a typo such as PSOT) is refused. */
export const RULE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** Limits on one rule's size, checked for rules members write themselves (gateway keys). */
export interface RuleLimits {
  readonly maxLength: number
  readonly maxSegments: number
  readonly maxDoubleStars: number
}

/** Compiles a rule, or returns why it is invalid. */
export function compileRule(rule: string, limits?: RuleLimits): PathRule | string {
  const trimmed = rule.trim()
  if (limits && trimmed.length > limits.maxLength) return `"${trimmed.slice(0, 40)}…": a rule may be at most ${limits.maxLength} characters`
  if (trimmed.startsWith('?')) {
    const param = trimmed.slice(1)
    if (param === '' || /[\s&=;[\]]/.test(param)) return `"${rule}": a ?param rule needs one parameter name (no spaces, &, =, ; or brackets)`
    return { source: trimmed, method: undefined, segments: undefined, param }
  }
  const m = /^(?:([A-Za-z]+)\s+)?(\/\S*)$/.exec(trimmed)
  if (!m) return `"${rule}": expected "[METHOD ]/path/pattern" or "?param"`
  const method = m[1]?.toUpperCase()
  if (method !== undefined && !(RULE_METHODS as readonly string[]).includes(method)) {
    return `"${rule}": ${m[1]} is not a method (use one of ${RULE_METHODS.join(', ')})`
  }
  const segments = asRouted(
    stripApiPath(m[2] ?? '/')
      .split('/')
      .slice(1),
  )
  for (const s of segments) {
    // These can never equal a decoded, routed path segment, so the rule would deny nothing.
    if (s === '') return `"${rule}": empty path segments (//) can never match`
    if (/[?#%\\]/.test(s)) return `"${rule}": "${s}" can never match a path segment (no ?, #, % or backslash; rules match the decoded path)`
    if (s !== '*' && s !== '**' && s.includes('*')) return `"${rule}": "${s}": * and ** stand for whole segments only`
  }
  if (limits) {
    if (segments.length > limits.maxSegments) return `"${rule}": a rule may have at most ${limits.maxSegments} segments`
    if (segments.filter((s) => s === '**').length > limits.maxDoubleStars) return `"${rule}": a rule may use ** at most ${limits.maxDoubleStars} times`
  }
  return { source: trimmed, method, segments, param: undefined }
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
 * Whether `path` matches `pattern`, in time proportional to their lengths multiplied. The set
 * of pattern positions reachable after each path segment is carried forward, as a
 * non-backtracking automaton would; the recursive matcher this replaces tried every split for
 * each `**`, and one member's rule of seven `**` held the event loop for 2.4 s on a 50-segment path.
 */
export function matchSegments(pattern: readonly string[], path: readonly string[]): boolean {
  const n = pattern.length
  let states = new Uint8Array(n + 1)
  let next = new Uint8Array(n + 1)
  states[0] = 1
  skipDoubleStars(pattern, states)
  for (const segment of path) {
    next.fill(0)
    let any = false
    for (let i = 0; i < n; i++) {
      if (states[i] !== 1) continue
      const p = pattern[i]
      if (p === '**') {
        next[i] = 1 // `**` takes this segment and may take more
        any = true
      } else if (p === '*' || p === segment) {
        next[i + 1] = 1
        any = true
      }
    }
    if (!any) return false
    skipDoubleStars(pattern, next)
    ;[states, next] = [next, states]
  }
  return states[n] === 1
}

/** A `**` may also match no segment: from a reachable `**`, the position after it is reachable too. */
function skipDoubleStars(pattern: readonly string[], states: Uint8Array): void {
  for (let i = 0; i < pattern.length; i++) if (states[i] === 1 && pattern[i] === '**') states[i + 1] = 1
}

export interface PolicyInput {
  readonly method: string
  readonly apiPath: string
  /** Decoded parameter names of the query, and of the body once it has been read. */
  readonly paramNames: () => readonly string[]
}

export const hasParamRule = (rules: readonly PathRule[]): boolean => rules.some((r) => r.param !== undefined)

/** The first rule that matches the request (decoded path, method, decoded parameter names), if any. */
export function firstMatch(rules: readonly PathRule[], input: PolicyInput): PathRule | undefined {
  let segments: string[] | undefined
  let names: Set<string> | undefined
  for (const rule of rules) {
    if (rule.param !== undefined) {
      names ??= new Set(input.paramNames().flatMap(paramTokens))
      if (names.has(rule.param)) return rule
    } else if ((rule.method === undefined || rule.method === input.method) && rule.segments) {
      segments ??= decodedSegments(input.apiPath)
      if (matchSegments(rule.segments, segments)) return rule
    }
  }
  return undefined
}

/** Compiles rules that were validated with the configuration (invalid ones cannot reach here). */
export function compileRules(rules: readonly string[]): PathRule[] {
  return rules.map((r) => compileRule(r)).filter((r): r is PathRule => typeof r !== 'string')
}
