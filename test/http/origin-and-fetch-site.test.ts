import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'

// A Host lock does not stop a plain cross-site request: a form on evil.com that POSTs to
// http://localhost:<port> carries the right Host (peers.md §3 item 1). The browser's own
// Origin and Sec-Fetch-Site headers are what give it away. `{port}` is the proxy's port.

type Headers = ReadonlyArray<readonly [string, string]>
const withPort = (headers: Headers, port: number): Headers => headers.map(([n, v]) => [n, v.replace('{port}', String(port))] as const)
const describe = (headers: Headers) => (headers.length === 0 ? 'no Origin' : headers.map(([n, v]) => `${n}: ${v}`).join(', '))

const reaches = test.macro<[headers: Headers]>({
  async exec(t, headers) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { target: '/api/3/stacks', host: `localhost:${stack.port}`, headers: withPort(headers, stack.port) })
    t.is(res.status, 200, res.raw)
    t.is(stack.sim.requests.length, 1)
  },
  title: (given = '', headers) => given || `a request with ${describe(headers)} reaches Cloud 66`,
})

test(reaches, [])
test(reaches, [['Origin', 'http://localhost:{port}']])
test(reaches, [['Origin', 'http://127.0.0.1:{port}']])
test(reaches, [['Origin', 'http://[::1]:{port}']])
test(reaches, [['Sec-Fetch-Site', 'same-origin']])
test(reaches, [['Sec-Fetch-Site', 'none']])
test(reaches, [
  ['Origin', 'http://localhost:{port}'],
  ['Sec-Fetch-Site', 'same-origin'],
])

const refused = test.macro<[headers: Headers]>({
  async exec(t, headers) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { target: '/api/3/stacks', host: `localhost:${stack.port}`, headers: withPort(headers, stack.port) })
    assertProxyError(t, res, 403, 'forbidden_origin')
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', headers) => given || `a request with ${describe(headers)} is refused with 403 forbidden_origin`,
})

test(refused, [['Origin', 'http://evil.com']])
test(refused, [['Origin', 'null']])
test(refused, [['Origin', 'https://localhost:{port}']])
test(refused, [['Origin', 'http://localhost:1']])
test(refused, [['Origin', 'http://localhost']])
test(refused, [['Origin', 'http://localhost:{port}.evil.com']])
test(refused, [
  ['Origin', 'http://evil.com'],
  ['Sec-Fetch-Site', 'cross-site'],
])
test(refused, [['Sec-Fetch-Site', 'cross-site']])
test(refused, [['Sec-Fetch-Site', 'same-site']])
test('a same-origin Origin with Sec-Fetch-Site cross-site is still refused', refused, [
  ['Origin', 'http://localhost:{port}'],
  ['Sec-Fetch-Site', 'cross-site'],
])

const formBody = 'ref=main&reason=pwned'

test('a classic cross-site form POST that would redeploy production never reaches Cloud 66', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, {
    method: 'POST',
    target: '/api/3/stacks/any-stack/deployments',
    host: `localhost:${stack.port}`,
    headers: [
      ['Origin', 'http://evil.com'],
      ['Content-Type', 'application/x-www-form-urlencoded'],
      ['Sec-Fetch-Site', 'cross-site'],
      ['Sec-Fetch-Mode', 'navigate'],
    ],
    body: formBody,
  })
  assertProxyError(t, res, 403, 'forbidden_origin')
  assertUpstreamUntouched(t, stack)
})

test('a cross-site form POST from a browser that sends only Origin never reaches Cloud 66', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, {
    method: 'POST',
    target: '/stacks/any-stack/deployments',
    host: `127.0.0.1:${stack.port}`,
    headers: [
      ['Origin', 'http://evil.com'],
      ['Content-Type', 'application/x-www-form-urlencoded'],
    ],
    body: formBody,
  })
  assertProxyError(t, res, 403, 'forbidden_origin')
  assertUpstreamUntouched(t, stack)
})

test("the proxy's own origin may POST, so same-origin tools keep working", async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, {
    method: 'POST',
    target: '/api/3/echo',
    host: `localhost:${stack.port}`,
    headers: [
      ['Origin', `http://localhost:${stack.port}`],
      ['Content-Type', 'text/plain'],
    ],
    body: 'same-origin body',
  })
  t.is(res.status, 200, res.raw)
  t.is(stack.sim.requests[0]?.body.toString(), 'same-origin body')
})
