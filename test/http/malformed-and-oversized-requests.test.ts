import net from 'node:net'
import test from 'ava'
import { assertAlive, assertProxyError, assertUpstreamUntouched, exchange, requestBytes, send, startGuardedStack } from '../helpers/safety-harness.js'

// Requests that Node's parser refuses never become requests: the proxy still answers them with
// its JSON error, forwards nothing, and carries on serving.

test('a 20 KB cookie gets 431 headers_too_large, nothing reaches Cloud 66, and the proxy still answers', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/api/3/stacks', headers: [['Cookie', `session=${'c'.repeat(20 * 1024)}`]] })
  assertProxyError(t, res, 431, 'headers_too_large')
  assertUpstreamUntouched(t, stack)
  await assertAlive(t, stack.port)
})

test('many small headers that add up past the limit get 431 headers_too_large', async (t) => {
  const stack = await startGuardedStack(t)
  const headers = Array.from({ length: 40 }, (_, i) => [`X-Filler-${i}`, 'f'.repeat(500)] as const)
  const res = await send(stack.port, { target: '/api/3/stacks', headers })
  assertProxyError(t, res, 431, 'headers_too_large')
  assertUpstreamUntouched(t, stack)
  await assertAlive(t, stack.port)
})

test('headers under the default 16 KiB limit are served normally', async (t) => {
  const stack = await startGuardedStack(t)
  const res = await send(stack.port, { target: '/api/3/stacks', headers: [['X-Note', 'n'.repeat(10 * 1024)]] })
  t.is(res.status, 200, res.raw)
  t.is(stack.sim.requests.length, 1)
})

test('--max-header-bytes lowers the limit', async (t) => {
  const stack = await startGuardedStack(t, { flags: { maxHeaderBytes: 4096 } })
  const res = await send(stack.port, { target: '/api/3/stacks', headers: [['X-Note', 'n'.repeat(8 * 1024)]] })
  assertProxyError(t, res, 431, 'headers_too_large')
  assertUpstreamUntouched(t, stack)
})

const malformed = test.macro<[bytes: (port: number) => string]>({
  async exec(t, bytes) {
    const stack = await startGuardedStack(t)
    const res = await exchange({ port: stack.port }, Buffer.from(bytes(stack.port), 'latin1'))
    assertProxyError(t, res, 400, 'bad_request')
    assertUpstreamUntouched(t, stack)
    await assertAlive(t, stack.port)
  },
  title: (given = '') => `${given} gets 400 bad_request and the proxy keeps serving`,
})

const head = (port: number, extra: string) => `POST /api/3/echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`

test('a garbage request line', malformed, () => 'GARBAGE\r\n\r\n')
test('an unknown HTTP version', malformed, (p) => `GET /api/3/stacks HTTP/9.9\r\nHost: 127.0.0.1:${p}\r\n\r\n`)
test('a lower-case method', malformed, (p) => `get /api/3/stacks HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`)
test('a header line without a colon', malformed, (p) => `GET /api/3/stacks HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nNot a header\r\n\r\n`)
test('a NUL byte in a header value', malformed, (p) => `GET /api/3/stacks HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nX-Bad: a\x00b\r\n\r\n`)
test('a space inside a header name', malformed, (p) => `GET /api/3/stacks HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nX Bad: 1\r\n\r\n`)
test('a non-numeric Content-Length', malformed, (p) => head(p, 'Content-Length: abc\r\n'))
test('two different Content-Length values', malformed, (p) => head(p, 'Content-Length: 3\r\nContent-Length: 5\r\n') + 'abcde')
test(
  'Content-Length together with chunked Transfer-Encoding (request smuggling)',
  malformed,
  (p) => head(p, 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\nGET /api/3/stacks HTTP/1.1\r\n\r\n',
)
test('an invalid chunk size', malformed, (p) => head(p, 'Transfer-Encoding: chunked\r\n') + 'zz\r\nabc\r\n0\r\n\r\n')

test('a flood of 200 malformed connections leaves the proxy alive and serving', async (t) => {
  const stack = await startGuardedStack(t)
  const garbage = [
    'GARBAGE\r\n\r\n',
    `GET /api/3/stacks HTTP/1.1\r\nHost: 127.0.0.1:${stack.port}\r\nX-Bad: \x01\r\n\r\n`,
    `GET /api/3/stacks HTTP/1.1\r\nHost: 127.0.0.1:${stack.port}\r\nCookie: ${'c'.repeat(20_000)}\r\n\r\n`,
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', // a TLS ClientHello sent to the plain-HTTP port
  ]
  const statuses = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => (await exchange({ port: stack.port }, Buffer.from(garbage[i % garbage.length] ?? '', 'latin1'))).status),
  )
  t.true(
    statuses.every((s) => s === 400 || s === 431),
    `unexpected statuses: ${[...new Set(statuses)].join(', ')}`,
  )
  assertUpstreamUntouched(t, stack)
  await assertAlive(t, stack.port)
  const res = await send(stack.port, { target: '/api/3/stacks' })
  t.is(res.status, 200, res.raw)
})

test('connections that are opened and dropped mid-request leave the proxy serving', async (t) => {
  const stack = await startGuardedStack(t)
  const partial = requestBytes(stack.port, { target: '/api/3/stacks' }).subarray(0, 20)
  await Promise.all(
    Array.from(
      { length: 50 },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect(stack.port, '127.0.0.1', () => socket.end(partial))
          socket.on('error', reject)
          socket.on('close', () => resolve())
          socket.resume()
        }),
    ),
  )
  assertUpstreamUntouched(t, stack)
  await assertAlive(t, stack.port)
})
