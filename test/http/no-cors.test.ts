import http from 'node:http'
import type { AddressInfo } from 'node:net'
import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'
import { startProxy } from '../helpers/proxy.js'
import type { RawResponse } from '../helpers/raw-http.js'

// The proxy never speaks CORS: a web page on another origin must not be able to read its answers
// or be told, through a Private Network Access preflight, that it may talk to it.

const corsHeaders = (res: RawResponse) => Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))

const preflight = test.macro<[origin: string, extra: ReadonlyArray<readonly [string, string]>]>({
  async exec(t, origin, extra) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, {
      method: 'OPTIONS',
      target: '/api/3/stacks/any-stack/deployments',
      host: `localhost:${stack.port}`,
      headers: [['Origin', origin], ['Access-Control-Request-Method', 'POST'], ['Access-Control-Request-Headers', 'content-type'], ...extra],
    })
    assertProxyError(t, res, 403, 'forbidden_origin')
    t.deepEqual(corsHeaders(res), [])
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', origin, extra) =>
    given || `a CORS preflight from ${origin}${extra.length ? ' asking for private-network access' : ''} is refused without any Access-Control header`,
})

test(preflight, 'http://evil.com', [])
test(preflight, 'http://evil.com', [['Access-Control-Request-Private-Network', 'true']])
test(preflight, 'null', [['Access-Control-Request-Private-Network', 'true']])
test(preflight, 'https://evil.com', [
  ['Access-Control-Request-Private-Network', 'true'],
  ['Sec-Fetch-Site', 'cross-site'],
  ['Sec-Fetch-Mode', 'cors'],
])

test('a proxied answer to a same-origin request carries no Access-Control header added by the proxy', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/api/3/stacks', host: `localhost:${stack.port}`, headers: [['Origin', `http://localhost:${stack.port}`]] })
  t.is(res.status, 200, res.raw)
  t.deepEqual(corsHeaders(res), [])
})

test("the proxy's own error answers carry no Access-Control header", async (t) => {
  const stack = await startGuardedStack(t, { token: null })
  const res = await send(stack.port, { target: '/api/3/stacks', headers: [['Origin', `http://127.0.0.1:${stack.port}`]] })
  assertProxyError(t, res, 401, 'no_token')
  t.deepEqual(corsHeaders(res), [])
})

test("the proxy's own pages carry no Access-Control header", async (t) => {
  const stack = await startGuardedStack(t)
  for (const target of ['/-/', '/-/healthz', '/-/readyz', '/-/metrics']) {
    const res = await send(stack.port, { target, headers: [['Origin', `http://127.0.0.1:${stack.port}`]] })
    t.is(res.status, 200, `${target}: ${res.raw}`)
    t.deepEqual(corsHeaders(res), [], target)
  }
})

// "No CORS headers" (issue 2, Safety): even an upstream that answers with CORS headers must not
// open the proxy to web pages; filterResponseHeaders drops every Access-Control-* header.
test('Access-Control headers sent by the upstream do not reach the caller', async (t) => {
  const upstream = http.createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      'access-control-allow-private-network': 'true',
    })
    res.end('{"response":[]}')
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        upstream.close(() => resolve())
        upstream.closeAllConnections()
      }),
  )
  const proxy = await startProxy(t, {
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    env: { CLOUD66_ACCESS_TOKEN: 'tok' },
  })
  const res = await send(proxy.port, { target: '/api/3/stacks' })
  t.is(res.status, 200, res.raw)
  t.deepEqual(corsHeaders(res), [])
})
