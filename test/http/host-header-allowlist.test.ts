import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'

// DNS rebinding (peers.md §3 items 1-7): a page on evil.com that re-points its name at 127.0.0.1
// talks to the proxy with `Host: evil.com`. Only the proxy's own names, with its port, are let in.
// `{port}` in a Host below stands for the port the proxy listens on.

const withPort = (host: string, port: number) => host.replace('{port}', String(port))

const accepted = test.macro<[host: string, flags?: Record<string, unknown>]>({
  async exec(t, host: string, flags?: Record<string, unknown>) {
    const stack = await startGuardedStack(t, flags ? { flags } : {})
    const res = await send(stack.port, { target: '/api/3/stacks', host: withPort(host, stack.port) })
    t.is(res.status, 200, res.raw)
    t.is(stack.sim.requests.length, 1)
    t.is(stack.sim.requests[0]?.url, '/api/3/stacks')
  },
  title: (given = '', host: string) => given || `a request with Host ${host} reaches Cloud 66`,
})

test(accepted, 'localhost:{port}')
test(accepted, '127.0.0.1:{port}')
test(accepted, '[::1]:{port}')
test(accepted, 'LocalHost:{port}')
test('an extra name given with --allowed-hosts is accepted with the proxy port', accepted, 'dev.box:{port}', { allowedHosts: ['dev.box'] })
test('an extra allowed name is compared case-insensitively', accepted, 'DEV.Box:{port}', { allowedHosts: ['dev.box'] })

const refused = test.macro<[host: string | null, version?: '1.0' | '1.1']>({
  async exec(t, host: string | null, version?: '1.0' | '1.1') {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { target: '/api/3/stacks', host: host === null ? null : withPort(host, stack.port), version: version ?? '1.1' })
    assertProxyError(t, res, 403, 'forbidden_host')
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', host: string | null) => given || `a request with Host ${host} is refused with 403 forbidden_host`,
})

test('a request to the wrong port is refused with 403 forbidden_host', refused, '127.0.0.1:1')
test('a loopback name without the port is refused with 403 forbidden_host', refused, 'localhost')
test(refused, 'evil.com')
test(refused, 'evil.com:{port}')
test(refused, 'localhost.:{port}')
test(refused, '127.0.0.1.nip.io:{port}')
test(refused, '0.0.0.0:{port}')
test(refused, 'localhost6:{port}')
test(refused, 'user@localhost:{port}')
test(refused, '[::ffff:127.0.0.1]:{port}')
test(refused, '2130706433:{port}')
test(refused, '127.1:{port}')
test(refused, 'localhost.evil.com:{port}')
test('a name that was not given with --allowed-hosts is refused with 403 forbidden_host', refused, 'dev.box:{port}')
test('an HTTP/1.0 request without a Host header is refused with 403 forbidden_host', refused, null, '1.0')

test('an HTTP/1.1 request without a Host header gets a 400 JSON error and nothing reaches Cloud 66', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/api/3/stacks', host: null })
  assertProxyError(t, res, 400, 'bad_request')
  assertUpstreamUntouched(t, stack)
})

test("the proxy's own status page is guarded by the Host allowlist too", async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/-/', host: `evil.com:${stack.port}` })
  assertProxyError(t, res, 403, 'forbidden_host')
  t.notRegex(res.body, /sha256:/)
})

test('a refused Host is counted in the rejected-requests metric under reason "host"', async (t) => {
  const stack = await startGuardedStack(t)
  await send(stack.port, { target: '/api/3/stacks', host: 'evil.com' })
  const metrics = await send(stack.port, { target: '/-/metrics' })
  t.regex(metrics.body, /c66_proxy_rejected_requests_total\{[^}]*reason="host"[^}]*\} 1/)
})
