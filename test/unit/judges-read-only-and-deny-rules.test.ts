// src/proxy/policy.ts, directly: --read-only lets only GET and HEAD through, and the deny rules
// refuse what they match with 403 denied_by_policy, naming the rule; read-only is decided first.
// The HTTP-level checks stay in test/http/read-only-and-deny-rules.
import test from 'ava'
import { createPolicy } from '../../src/proxy/policy.js'
import { compileRules } from '../../src/rules/path-rules.js'
import { policyInput } from '../helpers/policy-input.js'

const readOnly = createPolicy(true, [])

for (const method of ['GET', 'HEAD']) {
  test(`with --read-only a ${method} passes`, (t) => {
    t.is(readOnly(policyInput(method, '/api/3/stacks')), undefined)
  })
}

for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
  test(`with --read-only a ${method} is refused with 403 read_only`, (t) => {
    t.like(readOnly(policyInput(method, '/api/3/stacks')), { status: 403, code: 'read_only', reason: 'read_only' })
  })
}

test('without --read-only and without rules, every method passes and no parameter name is read', (t) => {
  const open = createPolicy(false, [])
  for (const method of ['GET', 'POST', 'DELETE']) {
    t.is(open({ method, apiPath: '/stacks', paramNames: () => t.fail('parameter names were read') as never }), undefined)
  }
  t.false(open.readsParams)
})

const RULES = ['/accounts/otp', 'POST /stacks/*/deployments', '?include_private_key']
const deny = createPolicy(false, compileRules(RULES))

const DENIED: ReadonlyArray<readonly [method: string, rawUrl: string, rule: string]> = [
  ['GET', '/api/3/accounts/otp.json', '/accounts/otp'],
  ['GET', '/api/3/accounts/otp', '/accounts/otp'],
  ['GET', '/accounts/otp', '/accounts/otp'],
  ['GET', '/accounts/otp.json', '/accounts/otp'],
  ['GET', '/accounts/%6Ftp', '/accounts/otp'],
  ['GET', '/api/3/accounts/%6f%74%70.json', '/accounts/otp'],
  ['GET', '/accounts/otp/', '/accounts/otp'],
  ['GET', '/api/3/accounts/otp.json/', '/accounts/otp'],
  ['GET', '/accounts/otp.xml', '/accounts/otp'],
  ['HEAD', '/accounts/otp', '/accounts/otp'],
  ['POST', '/api/3/stacks/abc123/deployments', 'POST /stacks/*/deployments'],
  ['POST', '/stacks/abc123/deployments.json', 'POST /stacks/*/deployments'],
  ['POST', '/stacks/abc123/deployments/', 'POST /stacks/*/deployments'],
  ['POST', '/stacks/%61bc/%64eployments', 'POST /stacks/*/deployments'],
  ['GET', '/api/3/stacks/abc/servers/def.json?include_private_key=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?page=1&include_private_key=true', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include%5Fprivate%5Fkey=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?a=1;include_private_key=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key[]=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key[x]=1', '?include_private_key'],
  ['GET', '/stacks/abc/servers/def?include_private_key%5Bx%5D=1', '?include_private_key'],
]

for (const [method, rawUrl, rule] of DENIED) {
  test(`the deny rules refuse ${method} ${rawUrl} with 403 denied_by_policy, naming ${rule}`, (t) => {
    const refusal = deny(policyInput(method, rawUrl))
    t.like(refusal, { status: 403, code: 'denied_by_policy', reason: 'policy' })
    t.is(refusal?.message, `Refused by the proxy's deny rule "${rule}"`)
  })
}

const ALLOWED: ReadonlyArray<readonly [method: string, rawUrl: string]> = [
  ['GET', '/api/3/stacks'],
  ['GET', '/stacks/abc123/deployments'],
  ['GET', '/accounts'],
  ['GET', '/api/3/accounts/otpx'],
  ['GET', '/stacks/abc/servers/def.json?include_private_keys=1'],
  ['GET', '/stacks/abc/servers/def.json?x=include_private_key'],
  ['PUT', '/stacks/abc123/deployments'],
]

for (const [method, rawUrl] of ALLOWED) {
  test(`the deny rules let ${method} ${rawUrl} through`, (t) => {
    t.is(deny(policyInput(method, rawUrl)), undefined)
  })
}

test('a ?param rule refuses a name the body sets, too', (t) => {
  t.like(deny(policyInput('POST', '/stacks/abc/servers', ['include_private_key'])), { code: 'denied_by_policy' })
})

test('read-only is decided before the deny rules: a denied POST under --read-only is refused as read_only', (t) => {
  const both = createPolicy(true, compileRules(RULES))
  t.like(both(policyInput('POST', '/stacks/abc/deployments')), { code: 'read_only' })
  t.like(both(policyInput('GET', '/accounts/otp')), { code: 'denied_by_policy' })
})

test('the first matching rule is the one named', (t) => {
  const policy = createPolicy(false, compileRules(['GET /stacks/**', '/stacks/*']))
  t.is(policy(policyInput('GET', '/stacks/a'))?.message, 'Refused by the proxy\'s deny rule "GET /stacks/**"')
  t.is(policy(policyInput('POST', '/stacks/a'))?.message, 'Refused by the proxy\'s deny rule "/stacks/*"')
})

test('the policy reads bodies exactly when a ?param rule is among its rules', (t) => {
  t.true(deny.readsParams)
  t.false(createPolicy(false, compileRules(['/accounts/otp', 'POST /stacks/**'])).readsParams)
  t.false(readOnly.readsParams)
})
