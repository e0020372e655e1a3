import net from 'node:net'
import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, parseResponse, startGuardedStack, type GuardedStack } from '../helpers/safety-harness.js'
import type { RawResponse } from '../helpers/raw-http.js'

// A client that sends `Expect: 100-continue` holds its body back until the server says go. The
// proxy says go only once it knows the request will be forwarded, so a refused upload is never sent.

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n'

interface Upload {
  /** Everything the proxy wrote, the interim 100 included. */
  readonly raw: string
  /** The final answer after any 100 Continue. */
  readonly final: RawResponse
  readonly sawContinue: boolean
  readonly bodySent: boolean
}

/**
 * Sends the head with `Expect: 100-continue` and holds the body back, as curl does. The body goes
 * out only when a 100 Continue arrives; the final answer ends with the connection.
 */
function expectContinueUpload(stack: GuardedStack, head: { method?: string; target: string; host?: string; extra?: string }, body: Buffer): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(stack.port, '127.0.0.1')
    const chunks: Buffer[] = []
    let bodySent = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer; got: ${Buffer.concat(chunks).toString('latin1')}`))
    }, 15_000)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      if (!bodySent && Buffer.concat(chunks).toString('latin1').startsWith(CONTINUE)) {
        bodySent = true
        socket.write(body)
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') {
        clearTimeout(timer)
        reject(err)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const all = Buffer.concat(chunks)
      const raw = all.toString('latin1')
      const sawContinue = raw.startsWith(CONTINUE)
      resolve({ raw, final: parseResponse(sawContinue ? all.subarray(CONTINUE.length) : all), sawContinue, bodySent })
    })
    socket.write(
      `${head.method ?? 'POST'} ${head.target} HTTP/1.1\r\nHost: ${head.host ?? `127.0.0.1:${stack.port}`}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n${head.extra ?? ''}Connection: close\r\n\r\n`,
    )
  })
}

const payload = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251))

test('without a token an Expect: 100-continue upload gets 401 no_token at once, no 100 Continue, and the body is never sent', async (t) => {
  const stack = await startGuardedStack(t, { token: null })
  const up = await expectContinueUpload(stack, { target: '/api/3/upload' }, payload)
  t.false(up.sawContinue, up.raw)
  t.false(up.bodySent)
  assertProxyError(t, up.final, 401, 'no_token')
  assertUpstreamUntouched(t, stack)
})

const refusedBeforeContinue = test.macro<
  [flags: Record<string, unknown>, head: { target: string; host?: string; extra?: string }, status: number, code: string]
>({
  async exec(t, flags, head, status, code) {
    const stack = await startGuardedStack(t, { flags })
    const up = await expectContinueUpload(stack, { ...head, host: head.host?.replace('{port}', String(stack.port)) ?? `127.0.0.1:${stack.port}` }, payload)
    t.false(up.sawContinue, up.raw)
    assertProxyError(t, up.final, status, code)
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', _flags, _head, status, code) => `${given}: the ${status} ${code} comes without a 100 Continue`,
})

test('an upload under --read-only', refusedBeforeContinue, { readOnly: true }, { target: '/api/3/upload' }, 403, 'read_only')
test('an upload to a denied path', refusedBeforeContinue, { denyPaths: ['/upload'] }, { target: '/upload' }, 403, 'denied_by_policy')
test('an upload with a foreign Host', refusedBeforeContinue, {}, { target: '/api/3/upload', host: 'evil.com:{port}' }, 403, 'forbidden_host')
test('a cross-site upload', refusedBeforeContinue, {}, { target: '/api/3/upload', extra: 'Origin: http://evil.com\r\n' }, 403, 'forbidden_origin')

test('with a token the 100 Continue comes and the body arrives at Cloud 66 intact', async (t) => {
  const stack = await startGuardedStack(t)
  const up = await expectContinueUpload(stack, { target: '/api/3/echo' }, payload)
  t.true(up.sawContinue, up.raw)
  t.is(up.final.status, 200, up.raw)
  t.is(stack.sim.requests.length, 1)
  const received = stack.sim.requests[0]
  t.is(received?.method, 'POST')
  t.is(received?.url, '/api/3/echo')
  t.is(received?.bodyBytes, payload.length)
  t.true(received?.body.equals(payload))
  t.is(received?.headers['expect'], undefined, 'the proxy answers Expect itself and does not pass it on')
})
