// src/gateway/key-policy.ts, directly: a gateway key's own limits (read-only, methods, allowed
// paths, deny rules, stacks), each refusal with its stable code, checked in that order. The
// HTTP-level checks stay in test/gateway/enforces-key-and-gateway-policy.
import test from 'ava'
import { checkKeyPolicy, keyJudgesParams, stackIdOf } from '../../src/gateway/key-policy.js'
import type { KeyPolicy } from '../../src/gateway/types.js'
import { policyInput } from '../helpers/policy-input.js'

const policy = (limits: Partial<KeyPolicy>): KeyPolicy => ({
  readOnly: false,
  methods: undefined,
  allowPaths: undefined,
  denyPaths: undefined,
  stackIds: undefined,
  ...limits,
})

type Expected = undefined | { readonly code: string; readonly reason: string; readonly message?: string }

const PASSES: Expected = undefined
const READ_ONLY_KEY: Expected = { code: 'read_only_key', reason: 'read_only_key' }
const keyPolicy = (message: string): Expected => ({ code: 'denied_by_policy', reason: 'key_policy', message })
const OUTSIDE_PATHS = keyPolicy("This path is outside the gateway key's allowed paths")
const OTHER_STACKS = keyPolicy('This gateway key is limited to other stacks')

const CASES: ReadonlyArray<readonly [what: string, limits: Partial<KeyPolicy>, method: string, rawUrl: string, expected: Expected]> = [
  ['an unrestricted key', {}, 'DELETE', '/stacks/abc', PASSES],

  ['a read-only key', { readOnly: true }, 'GET', '/api/3/echo', PASSES],
  ['a read-only key', { readOnly: true }, 'HEAD', '/api/3/echo', PASSES],
  ['a read-only key', { readOnly: true }, 'POST', '/api/3/echo', READ_ONLY_KEY],
  ['a read-only key', { readOnly: true }, 'PUT', '/api/3/echo', READ_ONLY_KEY],
  ['a read-only key', { readOnly: true }, 'PATCH', '/api/3/echo', READ_ONLY_KEY],
  ['a read-only key', { readOnly: true }, 'DELETE', '/api/3/echo', READ_ONLY_KEY],

  ['a GET/POST key', { methods: ['GET', 'POST'] }, 'GET', '/api/3/echo', PASSES],
  ['a GET/POST key', { methods: ['GET', 'POST'] }, 'POST', '/api/3/echo', PASSES],
  ['a GET/POST key', { methods: ['GET', 'POST'] }, 'DELETE', '/api/3/echo', keyPolicy('This gateway key may not use DELETE')],
  ['a GET/POST key', { methods: ['GET', 'POST'] }, 'PUT', '/api/3/echo', keyPolicy('This gateway key may not use PUT')],
  ['a GET/POST key', { methods: ['GET', 'POST'] }, 'HEAD', '/api/3/echo', keyPolicy('This gateway key may not use HEAD')],

  ['a key allowed GET /stacks/**', { allowPaths: ['GET /stacks/**'] }, 'GET', '/stacks.json', PASSES],
  ['a key allowed GET /stacks/**', { allowPaths: ['GET /stacks/**'] }, 'GET', '/api/3/stacks', PASSES],
  ['a key allowed GET /stacks/**', { allowPaths: ['GET /stacks/**'] }, 'GET', '/stacks/abc/servers/def', PASSES],
  ['a key allowed GET /stacks/**', { allowPaths: ['GET /stacks/**'] }, 'GET', '/api/3/echo', OUTSIDE_PATHS],
  ['a key allowed GET /stacks/**', { allowPaths: ['GET /stacks/**'] }, 'GET', '/accounts', OUTSIDE_PATHS],
  ['a key allowed GET /stacks/**', { allowPaths: ['GET /stacks/**'] }, 'POST', '/stacks', OUTSIDE_PATHS],
  ['a key allowed nothing', { allowPaths: [] }, 'GET', '/stacks', OUTSIDE_PATHS],
  ['a key allowed ?page only', { allowPaths: ['?page'] }, 'GET', '/stacks?page=2', PASSES],
  ['a key allowed ?page only', { allowPaths: ['?page'] }, 'GET', '/stacks', OUTSIDE_PATHS],

  ['a key denied /stacks/*/servers and ?filter_name', { denyPaths: ['/stacks/*/servers', '?filter_name'] }, 'GET', '/stacks/abc.json', PASSES],
  [
    'a key denied /stacks/*/servers and ?filter_name',
    { denyPaths: ['/stacks/*/servers', '?filter_name'] },
    'GET',
    '/stacks/abc/servers',
    keyPolicy('Refused by the gateway key\'s deny rule "/stacks/*/servers"'),
  ],
  [
    'a key denied /stacks/*/servers and ?filter_name',
    { denyPaths: ['/stacks/*/servers', '?filter_name'] },
    'GET',
    '/api/3/stacks/abc/servers.json',
    keyPolicy('Refused by the gateway key\'s deny rule "/stacks/*/servers"'),
  ],
  [
    'a key denied /stacks/*/servers and ?filter_name',
    { denyPaths: ['/stacks/*/servers', '?filter_name'] },
    'GET',
    '/api/3/stacks/abc/%73ervers',
    keyPolicy('Refused by the gateway key\'s deny rule "/stacks/*/servers"'),
  ],
  [
    'a key denied /stacks/*/servers and ?filter_name',
    { denyPaths: ['/stacks/*/servers', '?filter_name'] },
    'GET',
    '/stacks/abc/servers/',
    keyPolicy('Refused by the gateway key\'s deny rule "/stacks/*/servers"'),
  ],
  [
    'a key denied /stacks/*/servers and ?filter_name',
    { denyPaths: ['/stacks/*/servers', '?filter_name'] },
    'GET',
    '/stacks.json?filter_name=x',
    keyPolicy('Refused by the gateway key\'s deny rule "?filter_name"'),
  ],
  [
    'a key denied /stacks/*/servers and ?filter_name',
    { denyPaths: ['/stacks/*/servers', '?filter_name'] },
    'GET',
    '/stacks.json?filter%5Fname=x',
    keyPolicy('Refused by the gateway key\'s deny rule "?filter_name"'),
  ],

  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/stacks/abc.json', PASSES],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/api/3/stacks/abc/servers', PASSES],
  ['a key for stack abc', { stackIds: ['abc'] }, 'POST', '/api/3/stacks/abc/deployments', PASSES],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/stacks/%61bc', PASSES],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/stacks/other.json', OTHER_STACKS],
  ['a key for stack abc', { stackIds: ['abc'] }, 'POST', '/api/3/stacks/other/deployments', OTHER_STACKS],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/stacks.json', OTHER_STACKS],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/api/3/stacks', OTHER_STACKS],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/api/3/echo', OTHER_STACKS],
  ['a key for stack abc', { stackIds: ['abc'] }, 'GET', '/stacks/abcd', OTHER_STACKS],

  // The order: read-only, then methods, then allowed paths, then deny rules, then stacks.
  ['a read-only GET-only key', { readOnly: true, methods: ['GET'] }, 'POST', '/x', READ_ONLY_KEY],
  ['a GET-only key allowed /a only', { methods: ['GET'], allowPaths: ['/a'] }, 'POST', '/b', keyPolicy('This gateway key may not use POST')],
  [
    'a key allowed /stacks/** and denied /stacks/*/servers',
    { allowPaths: ['/stacks/**'], denyPaths: ['/stacks/*/servers'] },
    'GET',
    '/accounts',
    OUTSIDE_PATHS,
  ],
  [
    'a key allowed /stacks/** and denied /stacks/*/servers',
    { allowPaths: ['/stacks/**'], denyPaths: ['/stacks/*/servers'] },
    'GET',
    '/stacks/abc/servers',
    keyPolicy('Refused by the gateway key\'s deny rule "/stacks/*/servers"'),
  ],
  [
    'a key for stack abc denied its servers',
    { stackIds: ['abc'], denyPaths: ['/stacks/*/servers'] },
    'GET',
    '/stacks/other/servers',
    keyPolicy('Refused by the gateway key\'s deny rule "/stacks/*/servers"'),
  ],
]

for (const [what, limits, method, rawUrl, expected] of CASES) {
  test(`${what}: ${method} ${rawUrl} ${expected === undefined ? 'passes' : `is refused with ${expected.code}${expected.message ? ` (${expected.message})` : ''}`}`, (t) => {
    const refusal = checkKeyPolicy(policy(limits), policyInput(method, rawUrl))
    if (expected === undefined) {
      t.is(refusal, undefined)
      return
    }
    t.like(refusal, { status: 403, ...expected })
  })
}

test('a key deny rule on a ?param refuses a name the body sets', (t) => {
  t.like(checkKeyPolicy(policy({ denyPaths: ['?include_private_key'] }), policyInput('GET', '/stacks/a/servers/b', ['include_private_key'])), {
    code: 'denied_by_policy',
  })
})

const STACKS: ReadonlyArray<readonly [apiPath: string, stack: string | undefined]> = [
  ['/stacks/abc', 'abc'],
  ['/stacks/abc.json', 'abc'],
  ['/stacks/abc/servers/def', 'abc'],
  ['/api/3/stacks/abc', 'abc'],
  ['/stacks/%61bc', 'abc'],
  ['/stacks', undefined],
  ['/stacks/', undefined],
  ['/stacks.json', undefined],
  ['/accounts/abc', undefined],
  ['/', undefined],
]

for (const [apiPath, stack] of STACKS) {
  test(`the stack of ${apiPath} is ${String(stack)}`, (t) => {
    t.is(stackIdOf(apiPath), stack)
  })
}

test("a key judges parameters (its requests' bodies are read) exactly when one of its rules is a ?param rule", (t) => {
  t.false(keyJudgesParams(policy({})))
  t.false(keyJudgesParams(policy({ allowPaths: ['/stacks/**'], denyPaths: ['/accounts/otp'] })))
  t.true(keyJudgesParams(policy({ denyPaths: ['?include_private_key'] })))
  t.true(keyJudgesParams(policy({ allowPaths: ['?page'] })))
})
