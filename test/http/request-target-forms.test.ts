import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, exchange, send, startGuardedStack } from '../helpers/safety-harness.js'

// The proxy is a reverse proxy for one upstream, never a forward proxy or a tunnel: only
// origin-form targets (/path?query) are served (RFC 9112 §3.2).

test('an absolute-form target naming the proxy itself is refused with 400 invalid_request_target', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: `http://127.0.0.1:${stack.port}/stacks` })
  assertProxyError(t, res, 400, 'invalid_request_target')
  assertUpstreamUntouched(t, stack)
})

test('an absolute-form target naming the upstream is refused, so the proxy cannot be used as a forward proxy', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: `${stack.sim.url.origin}/api/3/stacks` })
  assertProxyError(t, res, 400, 'invalid_request_target')
  assertUpstreamUntouched(t, stack)
})

test('an absolute-form target naming another host is refused and nothing is sent anywhere', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: 'https://app.cloud66.com/api/3/stacks' })
  assertProxyError(t, res, 400, 'invalid_request_target')
  assertUpstreamUntouched(t, stack)
})

test('an authority-form CONNECT is refused with 405 method_not_allowed and opens no tunnel', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await exchange({ port: stack.port }, 'CONNECT app.cloud66.com:443 HTTP/1.1\r\nHost: app.cloud66.com:443\r\n\r\n')
  assertProxyError(t, res, 405, 'method_not_allowed')
  assertUpstreamUntouched(t, stack)
})

test('a CONNECT aimed at the upstream itself is refused and the upstream sees no connection', async (t) => {
  const stack = await startGuardedStack(t)
  const authority = stack.sim.url.host
  const res = await exchange(
    { port: stack.port },
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\nGET /api/3/stacks HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
  )
  assertProxyError(t, res, 405, 'method_not_allowed')
  t.is(stack.connections(), 0)
  assertUpstreamUntouched(t, stack)
})

test('an authority-form target with GET gets a 400 JSON error', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: 'app.cloud66.com:443' })
  t.is(res.status, 400, res.raw)
  t.regex(res.headers['content-type'] ?? '', /^application\/json/)
  assertUpstreamUntouched(t, stack)
})

test('an asterisk-form OPTIONS * is refused with 400 invalid_request_target', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { method: 'OPTIONS', target: '*' })
  assertProxyError(t, res, 400, 'invalid_request_target')
  assertUpstreamUntouched(t, stack)
})

test('TRACE is refused with 405 method_not_allowed, so headers are never echoed back', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { method: 'TRACE', target: '/api/3/stacks', headers: [['Cookie', 'session=secret-cookie']] })
  assertProxyError(t, res, 405, 'method_not_allowed')
  t.notRegex(res.raw, /secret-cookie/)
  assertUpstreamUntouched(t, stack)
})

test("TRACE is refused on the proxy's own endpoints too", async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { method: 'TRACE', target: '/-/healthz' })
  assertProxyError(t, res, 405, 'method_not_allowed')
})

test('an origin-form target with the same path reaches Cloud 66, so the refusals above are about the form', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/stacks' })
  t.is(res.status, 200, res.raw)
  t.is(stack.sim.requests[0]?.url, '/api/3/stacks')
})
