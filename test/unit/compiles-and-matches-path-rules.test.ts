// The rule language (src/rules/path-rules.ts, src/rules/param-names.ts), directly: which rules
// compile and why the others are refused, how a path is decoded and split the way Cloud 66's
// router sees it, what `*` and `**` match, how `?param` rules find a name at any nesting level,
// and that the first matching rule is the one reported.
import test from 'ava'
import { paramName, paramTokens } from '../../src/rules/param-names.js'
import {
  compileRule,
  compileRules,
  decodedSegments,
  firstMatch,
  hasParamRule,
  matchSegments,
  type PathRule,
  type PolicyInput,
  type RuleLimits,
} from '../../src/rules/path-rules.js'
import { policyInput as input } from '../helpers/policy-input.js'

// ── compiling ────────────────────────────────────────────────────────────────────────────────

const INVALID: ReadonlyArray<readonly [rule: string, message: RegExp]> = [
  ['PSOT /stacks/*/deployments', /PSOT is not a method \(use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\)/],
  ['CONNECT /stacks', /CONNECT is not a method/],
  ['/stacks//x', /empty path segments \(\/\/\) can never match/],
  ['/stacks/%2A', /"%2A" can never match a path segment/],
  ['/stacks?x', /"stacks\?x" can never match a path segment/],
  ['/stacks/a#b', /"a#b" can never match a path segment/],
  ['/stacks\\x', /can never match a path segment/],
  ['/stacks/dep*', /"dep\*": \* and \*\* stand for whole segments only/],
  ['/stacks/***', /\* and \*\* stand for whole segments only/],
  ['?', /a \?param rule needs one parameter name/],
  ['? spaced', /a \?param rule needs one parameter name/],
  ['?a[b]', /a \?param rule needs one parameter name/],
  ['?a=b', /a \?param rule needs one parameter name/],
  ['?a&b', /a \?param rule needs one parameter name/],
  ['?a;b', /a \?param rule needs one parameter name/],
  ['accounts/otp', /expected "\[METHOD \]\/path\/pattern" or "\?param"/],
  ['GET', /expected "\[METHOD \]\/path\/pattern"/],
  ['GET /x y', /expected "\[METHOD \]\/path\/pattern"/],
  ['', /expected "\[METHOD \]\/path\/pattern"/],
  ['G3T /x', /expected "\[METHOD \]\/path\/pattern"/],
]

for (const [rule, message] of INVALID) {
  test(`the rule ${JSON.stringify(rule)} is refused: ${message.source}`, (t) => {
    const compiled = compileRule(rule)
    t.is(typeof compiled, 'string')
    t.regex(compiled as string, message)
  })
}

const VALID: ReadonlyArray<readonly [rule: string, expected: Partial<PathRule>]> = [
  ['/accounts/otp', { source: '/accounts/otp', method: undefined, segments: ['accounts', 'otp'], param: undefined }],
  ['post /stacks/*/deployments', { method: 'POST', segments: ['stacks', '*', 'deployments'] }],
  ['DELETE /stacks/**', { method: 'DELETE', segments: ['stacks', '**'] }],
  ['GET   /stacks', { method: 'GET', segments: ['stacks'] }],
  ['/stacks/**/environments', { segments: ['stacks', '**', 'environments'] }],
  ['/api/3/jwt/fetch.json', { segments: ['jwt', 'fetch'] }],
  ['/jwt/fetch.json', { segments: ['jwt', 'fetch'] }],
  ['/accounts/otp/', { segments: ['accounts', 'otp'] }],
  ['/accounts/otp.xml', { segments: ['accounts', 'otp'] }],
  ['/', { segments: [] }],
  ['/api/3', { segments: [] }],
  ['  /accounts/otp  ', { source: '/accounts/otp', segments: ['accounts', 'otp'] }],
  ['?include_private_key', { source: '?include_private_key', method: undefined, segments: undefined, param: 'include_private_key' }],
]

for (const [rule, expected] of VALID) {
  test(`the rule ${JSON.stringify(rule)} compiles`, (t) => {
    const compiled = compileRule(rule)
    if (typeof compiled === 'string') return t.fail(compiled)
    t.like(compiled, expected)
  })
}

const LIMITS: RuleLimits = { maxLength: 40, maxSegments: 4, maxDoubleStars: 2 }
const OVER_LIMITS: ReadonlyArray<readonly [rule: string, message: RegExp]> = [
  [`/${'a'.repeat(40)}`, /a rule may be at most 40 characters/],
  ['/a/b/c/d/e', /a rule may have at most 4 segments/],
  ['/**/a/**/**', /a rule may use \*\* at most 2 times/],
]

for (const [rule, message] of OVER_LIMITS) {
  test(`with limits, ${rule.slice(0, 20)} is refused: ${message.source}`, (t) => {
    t.regex(compileRule(rule, LIMITS) as string, message)
    t.is(typeof compileRule(rule), 'object', "without limits (operators' own rules) it compiles")
  })
}

test('a rule just within every limit compiles', (t) => {
  t.is(typeof compileRule('/**/a/**/b', LIMITS), 'object')
})

test('compileRules keeps the valid rules, in order, and drops the rest', (t) => {
  t.deepEqual(
    compileRules(['/a', 'PSOT /b', '?c', '/d//e']).map((r) => r.source),
    ['/a', '?c'],
  )
})

// ── the path as the router sees it ───────────────────────────────────────────────────────────

const SEGMENTS: ReadonlyArray<readonly [apiPath: string, segments: readonly string[]]> = [
  ['/accounts/otp', ['accounts', 'otp']],
  ['/api/3/accounts/otp', ['accounts', 'otp']],
  ['/accounts/%6Ftp', ['accounts', 'otp']],
  ['/accounts/%6f%74%70.json', ['accounts', 'otp']],
  ['/accounts/otp.json', ['accounts', 'otp']],
  ['/accounts/otp.xml', ['accounts', 'otp']],
  ['/accounts/otp/', ['accounts', 'otp']],
  ['/accounts/otp.json/', ['accounts', 'otp']],
  ['/stacks/abc.def/servers', ['stacks', 'abc.def', 'servers']],
  ['/stacks/.hidden', ['stacks', '.hidden']],
  ['/stacks/a%20b', ['stacks', 'a b']],
  ['/stacks/%E0%A4%A', ['stacks', '%E0%A4%A']],
  ['/', []],
  ['/api/3', []],
]

for (const [apiPath, segments] of SEGMENTS) {
  test(`${apiPath} is routed as /${segments.join('/')}`, (t) => {
    t.deepEqual(decodedSegments(apiPath), segments)
  })
}

// ── matching ─────────────────────────────────────────────────────────────────────────────────

const MATCHES: ReadonlyArray<readonly [pattern: string, path: string, matches: boolean]> = [
  ['/accounts/otp', '/accounts/otp', true],
  ['/accounts/otp', '/accounts/otpx', false],
  ['/accounts/otp', '/accounts', false],
  ['/accounts/otp', '/accounts/otp/x', false],
  ['/stacks/*/deployments', '/stacks/abc/deployments', true],
  ['/stacks/*/deployments', '/stacks/deployments', false],
  ['/stacks/*/deployments', '/stacks/a/b/deployments', false],
  ['/stacks/**', '/stacks', true],
  ['/stacks/**', '/stacks/a/b/c', true],
  ['/stacks/**', '/accounts', false],
  ['/**', '/', true],
  ['/**/x', '/a/b/x', true],
  ['/**/x', '/x', true],
  ['/**/x', '/a', false],
  ['/*', '/', false],
  ['/*', '/a', true],
  ['/', '/', true],
  ['/', '/a', false],
  ['/**/**', '/a', true],
  ['/a/**/b/**/c', '/a/b/c', true],
  ['/a/**/b/**/c', '/a/x/b/y/z/c', true],
  ['/a/**/b/**/c', '/a/c/b', false],
  ['/stacks/**/environments', '/stacks/abc/environments', true],
  ['/stacks/**/environments', '/stacks/abc/environments/KEY', false],
]

for (const [pattern, path, matches] of MATCHES) {
  test(`${pattern} ${matches ? 'matches' : 'does not match'} ${path}`, (t) => {
    const rule = compileRule(pattern) as PathRule
    t.is(matchSegments(rule.segments ?? [], decodedSegments(path)), matches)
  })
}

// ── ?param names ─────────────────────────────────────────────────────────────────────────────

const NAMES: ReadonlyArray<readonly [part: string, name: string]> = [
  ['a=1', 'a'],
  ['a', 'a'],
  ['=v', ''],
  ['a+b=1', 'a b'],
  ['access%5Ftoken=x', 'access_token'],
  ['x[]=1', 'x'],
  ['x[y][]=1', 'x[y]'],
  ['x%5B%5D=1', 'x'],
  ['a=b=c', 'a'],
  ['%E0%A4%A=1', '%E0%A4%A'],
]

for (const [part, name] of NAMES) {
  test(`the query part ${JSON.stringify(part)} names the parameter ${JSON.stringify(name)}`, (t) => {
    t.is(paramName(part), name)
  })
}

const TOKENS: ReadonlyArray<readonly [name: string, tokens: readonly string[]]> = [
  ['include_private_key', ['include_private_key']],
  ['include_private_key[]', ['include_private_key']],
  ['x[include_private_key]', ['x', 'include_private_key']],
  ['[include_private_key]', ['include_private_key']],
  ['a[b][c]', ['a', 'b', 'c']],
  ['a]b', ['a', 'b']],
  ['[]', []],
]

for (const [name, tokens] of TOKENS) {
  test(`the parameter ${name} holds the names ${JSON.stringify(tokens)} at its nesting levels`, (t) => {
    t.deepEqual(paramTokens(name), tokens)
  })
}

// ── the first matching rule ──────────────────────────────────────────────────────────────────

const RULES = compileRules(['/accounts/otp', 'POST /stacks/*/deployments', '?include_private_key'])

const FIRST_MATCH: ReadonlyArray<readonly [method: string, rawUrl: string, source: string | undefined]> = [
  ['GET', '/api/3/accounts/otp.json', '/accounts/otp'],
  ['GET', '/accounts/%6Ftp', '/accounts/otp'],
  ['DELETE', '/accounts/otp/', '/accounts/otp'],
  ['POST', '/stacks/%61bc/%64eployments', 'POST /stacks/*/deployments'],
  ['POST', '/stacks/abc123/deployments.json', 'POST /stacks/*/deployments'],
  ['GET', '/stacks/abc123/deployments', undefined],
  ['GET', '/stacks/abc/servers/def?include_private_key', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include%5Fprivate%5Fkey=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?a=1;include_private_key=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key[]=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key[x]=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?x[include_private_key]=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key%5Bx%5D=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def.json?include_private_keys=1', undefined],
  ['GET', '/stacks/abc/servers/def.json?x=include_private_key', undefined],
  ['GET', '/api/3/accounts/otpx', undefined],
  ['GET', '/accounts', undefined],
]

for (const [method, rawUrl, source] of FIRST_MATCH) {
  test(`${method} ${rawUrl} ${source === undefined ? 'matches no rule' : `matches ${source}`}`, (t) => {
    t.is(firstMatch(RULES, input(method, rawUrl))?.source, source)
  })
}

test('a ?param rule also matches a name from the body, at any nesting level', (t) => {
  t.is(firstMatch(RULES, input('POST', '/stacks/abc/servers', ['server', 'include_private_key']))?.source, '?include_private_key')
  t.is(firstMatch(RULES, input('POST', '/stacks/abc/servers', ['server[include_private_key]']))?.source, '?include_private_key')
  t.is(firstMatch(RULES, input('POST', '/stacks/abc/servers', ['server[name]'])), undefined)
})

test('the first rule that matches is the one reported, in the order the rules were given', (t) => {
  const rules = compileRules(['GET /stacks/**', '/stacks/*', '?page'])
  t.is(firstMatch(rules, input('GET', '/stacks/a?page=2'))?.source, 'GET /stacks/**')
  t.is(firstMatch(rules, input('POST', '/stacks/a?page=2'))?.source, '/stacks/*')
  t.is(firstMatch(rules, input('POST', '/stacks/a/b?page=2'))?.source, '?page')
  t.is(firstMatch(compileRules(['?page', 'GET /stacks/**']), input('GET', '/stacks/a?page=2'))?.source, '?page')
})

test('parameter names are only asked for when a ?param rule is reached', (t) => {
  let asked = 0
  const counting = (rawUrl: string): PolicyInput => ({ ...input('GET', rawUrl), paramNames: () => ((asked += 1), []) })
  firstMatch(compileRules(['/accounts/otp', 'POST /stacks/**']), counting('/stacks?x=1'))
  t.is(asked, 0, 'no ?param rule: names never read')
  firstMatch(compileRules(['/stacks', '?x']), counting('/stacks?x=1'))
  t.is(asked, 0, 'a path rule matched first')
  firstMatch(compileRules(['?x', '?y', '?z']), counting('/stacks'))
  t.is(asked, 1, 'read once for all the ?param rules')
})

test('hasParamRule says whether any rule is a ?param rule', (t) => {
  t.false(hasParamRule([]))
  t.false(hasParamRule(compileRules(['/a', 'POST /b/**'])))
  t.true(hasParamRule(compileRules(['/a', '?b'])))
})
