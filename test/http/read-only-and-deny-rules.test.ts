import test from 'ava'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'

// --read-only and --deny-path narrow what the token may be used for. A refused request never
// reaches Cloud 66, however its path is spelled.

const readOnly = { readOnly: true }

const readOnlyPasses = test.macro<[method: string]>({
  async exec(t, method) {
    const stack = await startGuardedStack(t, { flags: readOnly })
    const res = await send(stack.port, { method, target: '/api/3/stacks' })
    t.is(res.status, 200, res.raw)
    t.deepEqual(
      stack.sim.requests.map((r) => `${r.method} ${r.url}`),
      [`${method} /api/3/stacks`],
    )
  },
  title: (given = '', method) => given || `with --read-only a ${method} still reaches Cloud 66`,
})

test(readOnlyPasses, 'GET')
test(readOnlyPasses, 'HEAD')

const readOnlyRefuses = test.macro<[method: string, target: string]>({
  async exec(t, method, target) {
    const stack = await startGuardedStack(t, { flags: readOnly })
    const res = await send(stack.port, { method, target, headers: [['Content-Type', 'application/json']], body: '{"x":1}' })
    assertProxyError(t, res, 403, 'read_only')
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', method, target) => given || `with --read-only a ${method} ${target} is refused with 403 read_only`,
})

test(readOnlyRefuses, 'POST', '/api/3/stacks/any-stack/deployments')
test(readOnlyRefuses, 'PUT', '/api/3/stacks/any-stack/environments/KEY')
test(readOnlyRefuses, 'PATCH', '/stacks/any-stack/environments/KEY.json')
test(readOnlyRefuses, 'DELETE', '/api/3/stacks/any-stack')
test(readOnlyRefuses, 'OPTIONS', '/api/3/stacks')

test('without --read-only a POST does reach Cloud 66', async (t) => {
  const stack = await startGuardedStack(t)
  await send(stack.port, { method: 'POST', target: '/api/3/echo', body: 'x' })
  t.is(stack.sim.requests.length, 1)
})

const RULES = ['/accounts/otp', 'POST /stacks/*/deployments', '?include_private_key']
const denyFlags = { denyPaths: RULES }

const denied = test.macro<[method: string, target: string]>({
  async exec(t, method, target) {
    const stack = await startGuardedStack(t, { flags: denyFlags })
    const res = await send(stack.port, { method, target, ...(method === 'POST' ? { body: '{}', headers: [['Content-Type', 'application/json']] } : {}) })
    if (method === 'HEAD') {
      // A HEAD answer has no body to carry the JSON error; status and type still tell.
      t.is(res.status, 403, res.raw)
      t.regex(res.headers['content-type'] ?? '', /^application\/json/)
    } else {
      assertProxyError(t, res, 403, 'denied_by_policy')
    }
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', method, target) => given || `the deny rules refuse ${method} ${target} with 403 denied_by_policy`,
})

test(denied, 'GET', '/api/3/accounts/otp.json')
test(denied, 'GET', '/api/3/accounts/otp')
test(denied, 'GET', '/accounts/otp')
test(denied, 'GET', '/accounts/otp.json')
test(denied, 'GET', '/accounts/%6Ftp')
test(denied, 'GET', '/api/3/accounts/%6f%74%70.json')
test(denied, 'GET', '/accounts/otp/')
test(denied, 'GET', '/api/3/accounts/otp.json/')
test(denied, 'GET', '/accounts/otp.xml')
test(denied, 'HEAD', '/accounts/otp')
test(denied, 'POST', '/api/3/stacks/abc123/deployments')
test(denied, 'POST', '/stacks/abc123/deployments.json')
test(denied, 'POST', '/stacks/abc123/deployments/')
test(denied, 'POST', '/stacks/%61bc/%64eployments')
test(denied, 'GET', '/api/3/stacks/abc/servers/def.json?include_private_key=1')
test(denied, 'GET', '/stacks/abc/servers/def?page=1&include_private_key=true')
test(denied, 'GET', '/stacks/abc/servers/def?include_private_key')
test(denied, 'GET', '/stacks/abc/servers/def?include%5Fprivate%5Fkey=1')
test(denied, 'GET', '/stacks/abc/servers/def?a=1;include_private_key=1')
test(denied, 'GET', '/stacks/abc/servers/def?include_private_key[]=1')
test(denied, 'GET', '/stacks/abc/servers/def?include_private_key[x]=1')
test(denied, 'GET', '/stacks/abc/servers/def?include_private_key%5Bx%5D=1')

const allowed = test.macro<[method: string, target: string, upstreamUrl: string]>({
  async exec(t, method, target, upstreamUrl) {
    const stack = await startGuardedStack(t, { flags: denyFlags })
    const res = await send(stack.port, { method, target })
    t.not(res.status, 403, res.raw)
    t.deepEqual(
      stack.sim.requests.map((r) => `${r.method} ${r.url}`),
      [`${method} ${upstreamUrl}`],
    )
  },
  title: (given = '', method, target) => given || `the deny rules let ${method} ${target} through`,
})

test(allowed, 'GET', '/api/3/stacks', '/api/3/stacks')
test(allowed, 'GET', '/stacks/abc123/deployments', '/api/3/stacks/abc123/deployments')
test(allowed, 'GET', '/accounts', '/api/3/accounts')
test(allowed, 'GET', '/api/3/accounts/otpx', '/api/3/accounts/otpx')
test(allowed, 'GET', '/stacks/abc/servers/def.json?include_private_keys=1', '/api/3/stacks/abc/servers/def.json?include_private_keys=1')
test(allowed, 'GET', '/stacks/abc/servers/def.json?x=include_private_key', '/api/3/stacks/abc/servers/def.json?x=include_private_key')

test('a deny rule given through C66_PROXY_DENY_PATHS applies too', async (t) => {
  const stack = await startGuardedStack(t, { env: { C66_PROXY_DENY_PATHS: '/jwt/fetch, DELETE /stacks/**' } })
  assertProxyError(t, await send(stack.port, { method: 'POST', target: '/api/3/jwt/fetch.json', body: '{}' }), 403, 'denied_by_policy')
  assertProxyError(t, await send(stack.port, { method: 'DELETE', target: '/stacks/abc/environments/KEY' }), 403, 'denied_by_policy')
  assertUpstreamUntouched(t, stack)
})

test('every invalid deny rule is reported at once as a ConfigError naming --deny-path', (t) => {
  const err = t.throws(() => loadConfig({ flags: { denyPaths: ['accounts/otp', '?', 'GET', '/stacks'] }, env: { HOME: '/nonexistent-c66-proxy-test-home' } }), {
    instanceOf: ConfigError,
  })
  const problems = (err as ConfigError).problems.filter((p) => p.setting === '--deny-path / C66_PROXY_DENY_PATHS')
  t.is(problems.length, 3, JSON.stringify(problems))
  t.true(problems.some((p) => p.message.includes('"accounts/otp"')))
})

test('a deny rule cannot be dodged with a fragment after the path', async (t) => {
  const stack = await startGuardedStack(t, { flags: denyFlags })
  const res = await send(stack.port, { target: '/accounts/otp#not-otp' })
  assertProxyError(t, res, 400, 'invalid_request_target')
  assertUpstreamUntouched(t, stack)
})
