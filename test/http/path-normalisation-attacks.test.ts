import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'

// A path that the proxy reads one way and Cloud 66's router another (dot-segments, encoded
// separators, backslashes) would let a caller reach endpoints a deny rule or the route label
// thinks it is not reaching. Such paths never leave the proxy. Targets go on the wire exactly
// as written (no fetch() normalisation).

const invalidPath = test.macro<[target: string]>({
  async exec(t, target) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { target })
    assertProxyError(t, res, 400, 'invalid_path')
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', target) => given || `the path ${JSON.stringify(target)} is refused with 400 invalid_path`,
})

// dot-segments, raw and percent-encoded
test(invalidPath, '/api/3/stacks/../accounts/otp')
test(invalidPath, '/./x')
test(invalidPath, '/api/3/stacks/..')
test(invalidPath, '/api/3/stacks/./servers')
test(invalidPath, '/api/3/stacks/%2e%2e/accounts/otp')
test(invalidPath, '/api/3/stacks/%2E%2E/accounts/otp')
test(invalidPath, '/api/3/stacks/.%2E/accounts/otp')
test(invalidPath, '/api/3/stacks/%2e./accounts/otp')
test(invalidPath, '/%2e/stacks')
// backslashes, raw and encoded
test(invalidPath, '/api/3/stacks\\..\\accounts\\otp')
test(invalidPath, '/api/3/stacks%5c..%5caccounts%5cotp')
test(invalidPath, '/api/3/stacks%5C..%5Caccounts')
// encoded slashes
test(invalidPath, '/api/3/stacks%2f..%2faccounts%2fotp')
test(invalidPath, '/api/3/stacks%2F..%2Faccounts')
// empty segments
test(invalidPath, '/api/3//stacks')
test(invalidPath, '//stacks')
test(invalidPath, '//evil.com/api/3/stacks')
// percent-encoded control characters
test(invalidPath, '/api/3/stacks%00')
test(invalidPath, '/api/3/stacks%0a')
test(invalidPath, '/api/3/stacks%0D%0AX-Injected:%201')
test(invalidPath, '/api/3/stacks%1b')
test(invalidPath, '/api/3/stacks%7f')

const malformedTarget = test.macro<[target: string]>({
  async exec(t, target) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { target })
    // Node's HTTP parser refuses these bytes before any request exists; the answer is still JSON.
    assertProxyError(t, res, 400, 'bad_request')
    assertUpstreamUntouched(t, stack)
    t.is(stack.connections(), 0)
  },
  title: (given = '', target) => given || `a raw control character in ${JSON.stringify(target)} gets a 400 JSON error`,
})

test(malformedTarget, '/api/3/stacks\x01')
test(malformedTarget, '/api/3/stacks\x7f')
test(malformedTarget, '/api/3/st\tacks')
test(malformedTarget, '/api/3/stacks\x1b[2J')

test('a fragment in the request target is refused, since Cloud 66 would route only the part before it', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/api/3/stacks/x#/../../accounts/otp' })
  t.is(res.status, 400, res.raw)
  const again = await send(stack.port, { target: '/api/3/accounts/otp#anything' })
  assertProxyError(t, again, 400, 'invalid_request_target')
  assertUpstreamUntouched(t, stack)
})

const passes = test.macro<[target: string, upstreamUrl: string]>({
  async exec(t, target, upstreamUrl) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { target })
    t.true(res.status < 500, res.raw)
    t.is(stack.sim.requests.length, 1)
    t.is(stack.sim.requests[0]?.url, upstreamUrl)
  },
  title: (given = '', target) => given || `the harmless target ${JSON.stringify(target)} still reaches Cloud 66 unchanged`,
})

test(passes, '/api/3/stacks?q=../../accounts/otp', '/api/3/stacks?q=../../accounts/otp')
test(passes, '/stacks?filter=a%2Fb%5Cc', '/api/3/stacks?filter=a%2Fb%5Cc')
test(passes, '/api/3/stacks/abc..def', '/api/3/stacks/abc..def')
test(passes, '/api/3/stacks/.../servers', '/api/3/stacks/.../servers')
test(passes, '/api/3/stacks/', '/api/3/stacks/')
test(passes, '/api/3/stacks.json', '/api/3/stacks.json')
