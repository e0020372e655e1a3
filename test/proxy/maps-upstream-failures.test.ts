// Forwarding contract, part 9: when Cloud 66 cannot be reached or breaks off, the caller gets the
// proxy's own JSON error `{"error", "message", "request_id"}` with a status that says what
// happened (502 unreachable / DNS / TLS / reset, 504 too slow), and once an answer has started a
// failure destroys the caller's connection: a truncated body must never look complete.
import test, { type ExecutionContext } from 'ava'
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import { EventEmitter } from 'node:events'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import {
  SELF_SIGNED,
  SIM_TOKEN,
  closedPort,
  listenForTest,
  logLine,
  metricValue,
  metricsText,
  nextEvent,
  send,
  startSim,
  within,
  type Reply,
} from '../helpers/forwarding.js'

const CANARY = 'canary-token-must-not-leak-4f7c1d'

/** Asserts the proxy's own error shape and returns its fields. */
function assertProxyError(t: ExecutionContext, reply: Reply, status: number, code: string): { message: string; request_id: string } {
  t.is(reply.status, status)
  t.regex(reply.headers['content-type'] ?? '', /^application\/json/)
  const body = JSON.parse(reply.body.toString()) as Record<string, unknown>
  t.deepEqual(Object.keys(body).sort(), ['error', 'message', 'request_id'])
  t.is(body['error'], code)
  t.is(typeof body['message'], 'string')
  t.true((body['message'] as string).length > 0)
  t.is(typeof body['request_id'], 'string')
  t.false(reply.body.toString().includes(CANARY), 'the token is not in the error')
  return body as { message: string; request_id: string }
}

async function proxyTo(t: ExecutionContext, upstream: string, flags: Record<string, unknown> = {}): Promise<StartedProxy> {
  return startProxy(t, { upstream, env: { CLOUD66_ACCESS_TOKEN: CANARY }, flags })
}

test('an upstream that refuses connections gives 502 upstream_unreachable', async (t) => {
  const proxy = await proxyTo(t, `http://127.0.0.1:${await closedPort()}`)
  const reply = await send(`${proxy.url}/stacks.json`, { headers: { 'request-id': 'cx-request-1' } })
  const body = assertProxyError(t, reply, 502, 'upstream_unreachable')
  t.is(body.request_id, 'cx-request-1', "the caller's Request-Id names the failed request")
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'refused' }), 1)
  const line = await logLine(proxy, 'the refused request', (l) => l['msg'] === 'request' && l['request_id'] === 'cx-request-1')
  t.is(line['status'], 502)
})

test('an upstream host name that does not resolve gives 502 upstream_dns', async (t) => {
  // .invalid never resolves (RFC 6761); plain http to a non-loopback host needs the unsafe flag.
  const proxy = await proxyTo(t, 'http://nonexistent.invalid', { unsafeHttpUpstream: true, connectTimeout: '30s', responseTimeout: '30s' })
  const reply = await send(`${proxy.url}/stacks.json`)
  assertProxyError(t, reply, 502, 'upstream_dns')
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'dns' }), 1)
})

test('an https upstream that does not speak TLS gives 502 upstream_tls', async (t) => {
  const requests: IncomingMessage[] = []
  const plain = await listenForTest(
    t,
    http.createServer((req, res) => (requests.push(req), res.end())),
  )
  const proxy = await proxyTo(t, `https://127.0.0.1:${plain.port}`)
  const reply = await send(`${proxy.url}/stacks.json`)
  assertProxyError(t, reply, 502, 'upstream_tls')
  t.is(requests.length, 0, 'no HTTP request (and so no token) went over the failed connection')
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'tls' }), 1)
})

test('an https upstream with a certificate the proxy cannot verify gives 502 upstream_tls and never gets the token', async (t) => {
  const requests: IncomingMessage[] = []
  const selfSigned = await listenForTest(
    t,
    https.createServer({ key: SELF_SIGNED.key, cert: SELF_SIGNED.cert }, (req, res) => (requests.push(req), res.end())),
  )
  // The server does work: a client that trusts the certificate gets an answer from it.
  const trusted = await send(`https://127.0.0.1:${selfSigned.port}/`, { agent: new https.Agent({ ca: SELF_SIGNED.cert }) })
  t.is(trusted.status, 200)
  requests.length = 0
  const proxy = await proxyTo(t, `https://127.0.0.1:${selfSigned.port}`)
  const reply = await send(`${proxy.url}/stacks.json`)
  assertProxyError(t, reply, 502, 'upstream_tls')
  t.is(requests.length, 0, 'the request, with its token, was never sent to the unverified server')
})

test('an upstream that closes the connection before answering gives 502 upstream_reset', async (t) => {
  const slammer = await listenForTest(
    t,
    net.createServer((socket) => socket.once('data', () => socket.destroy())),
  )
  const proxy = await proxyTo(t, `http://127.0.0.1:${slammer.port}`)
  const reply = await send(`${proxy.url}/stacks.json`)
  assertProxyError(t, reply, 502, 'upstream_reset')
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'reset' }), 1)
})

test('an upstream that accepts but never answers gives 504 upstream_timeout after the response timeout', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { responseTimeout: '300ms' } })
  const arrived = nextEvent<[IncomingMessage]>(sim.server, 'request', 'the hang request at the upstream')
  const reply = await send(`${proxy.url}/api/3/hang`)
  assertProxyError(t, reply, 504, 'upstream_timeout')
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'response_timeout' }), 1)
  // The abandoned upstream request is closed, not left hanging.
  const [upstreamReq] = await arrived
  await within(
    new Promise((resolve) => (upstreamReq.socket.destroyed ? resolve(undefined) : upstreamReq.socket.once('close', resolve))),
    'the timed-out upstream socket to close',
  )
  t.true(upstreamReq.socket.destroyed)
})

test('a request still waiting for a pooled connection gets 504 after the response timeout, and never reaches the upstream', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, {
    upstream: sim.url,
    env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN },
    flags: { responseTimeout: '300ms', upstreamMaxSockets: 1 },
  })
  // A slow download holds the pool's only connection for ~2 s; its own response timeout ended
  // when its headers arrived.
  const download = within(
    new Promise<string>((resolve, reject) => {
      http
        .get(`${proxy.url}/api/3/slow?chunks=20&interval_ms=100`, { agent: false }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.once('end', () => resolve(body))
          res.once('error', reject)
        })
        .once('error', reject)
    }),
    'the slow download',
  )
  await nextEvent(sim.events, 'request', 'the slow download at the upstream', () => sim.requests.length === 1)
  const asked = performance.now()
  const reply = await send(`${proxy.url}/api/3/stacks.json`)
  const waited = performance.now() - asked
  assertProxyError(t, reply, 504, 'upstream_timeout')
  t.true(waited >= 300, `answered after the response timeout (${Math.round(waited)} ms)`)
  const body = await download
  t.is((JSON.parse(body) as unknown[]).length, 20, 'the download holding the connection is not disturbed')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.deepEqual(
    sim.requests.map((r) => r.url.split('?')[0]),
    ['/api/3/slow'],
    'the timed-out request was never sent on the freed connection',
  )
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'response_timeout' }), 1)
})

test('an upstream whose listen queue is full gives 504 upstream_timeout after the connect timeout', async (t) => {
  // A listener nobody accepts from: a worker thread listens with a backlog of 1 and then blocks
  // its own event loop. Once the accept queue is full the kernel drops further SYNs, so the
  // proxy's connect can only end by its connect timeout.
  const blocker = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     const server = require('node:net').createServer()
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port)
       Atomics.wait(workerData, 0, 0)
       server.close()
     })`,
    { eval: true, workerData: blocker },
  )
  const fillers: net.Socket[] = []
  t.teardown(async () => {
    for (const s of fillers) s.destroy()
    Atomics.store(blocker, 0, 1)
    Atomics.notify(blocker, 0)
    await worker.terminate()
  })
  const [port] = await nextEvent<[number]>(worker, 'message', "the blocked listener's port")
  for (let i = 0; i < 4; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => {}))
  await nextEvent(fillers[0] as net.Socket, 'connect', 'the first filler connection')

  const proxy = await proxyTo(t, `http://127.0.0.1:${port}`, { connectTimeout: '300ms', responseTimeout: '60s' })
  const reply = await send(`${proxy.url}/stacks.json`)
  assertProxyError(t, reply, 504, 'upstream_timeout')
  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_upstream_errors_total', { reason: 'connect_timeout' }), 1)
  t.is(metricValue(metrics, 'c66_proxy_upstream_errors_total', { reason: 'response_timeout' }), 0)
})

/** Starts an upstream that sends `head` plus `partial` body bytes for every request and then resets. */
async function brokenUpstream(t: ExecutionContext, head: string, partial: string): Promise<number> {
  const server = await listenForTest(
    t,
    net.createServer((socket) => {
      socket.once('data', () => {
        socket.write(head + partial, () => socket.resetAndDestroy())
      })
    }),
  )
  return server.port
}

interface Truncated {
  status: number
  bytes: number
  ended: boolean
  complete: boolean
}

/** Reads an answer to its end or its failure, keeping what a careful client would notice. */
function readToTheEnd(url: string): Promise<Truncated> {
  return within(
    new Promise<Truncated>((resolve, reject) => {
      http
        .get(url, { agent: false }, (res) => {
          let bytes = 0
          let ended = false
          res.on('data', (c: Buffer) => (bytes += c.length))
          res.once('end', () => (ended = true))
          res.once('error', () => {}) // 'aborted' / ECONNRESET: the client noticed the break
          res.once('close', () => resolve({ status: res.statusCode ?? 0, bytes, ended, complete: res.complete }))
        })
        .once('error', reject)
    }),
    'the broken answer to end',
  )
}

test("an upstream that dies in the middle of a Content-Length body destroys the caller's connection", async (t) => {
  const port = await brokenUpstream(t, 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', '{"response":[' + 'x'.repeat(87))
  const proxy = await proxyTo(t, `http://127.0.0.1:${port}`)
  const result = await readToTheEnd(`${proxy.url}/stacks/abc/backups.json`)
  t.is(result.status, 200)
  t.false(result.complete, 'the caller can tell the body is incomplete')
  t.false(result.ended, 'the body never ended cleanly')
  t.true(result.bytes < 1000)
  const line = await logLine(proxy, 'the broken request', (l) => l['msg'] === 'request' && l['route'] === '/stacks/:id/backups')
  t.is(line['outcome'], 'upstream_broken')
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_errors_total', { reason: 'broken_body' }), 1)
})

test("an upstream that dies in the middle of a chunked body destroys the caller's connection", async (t) => {
  // Without the destroy, the proxy would end its own chunked answer with a clean last chunk and
  // the caller would take a truncated body for a complete one.
  const port = await brokenUpstream(t, 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', 'd\r\n{"response":[\r\n')
  const proxy = await proxyTo(t, `http://127.0.0.1:${port}`)
  const result = await readToTheEnd(`${proxy.url}/stacks.json`)
  t.is(result.status, 200)
  t.false(result.complete)
  t.false(result.ended)
  t.is(result.bytes, '{"response":['.length)
})

test("an upstream that falls silent in the middle of a body is cut by the idle timeout and the caller's connection destroyed", async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { idleTimeout: '300ms' } })
  const arrived = nextEvent<[IncomingMessage]>(sim.server, 'request', 'the stalled request at the upstream')
  const result = await readToTheEnd(`${proxy.url}/api/3/hang?after_headers=1`)
  t.is(result.status, 200)
  t.false(result.complete)
  t.false(result.ended)
  const [upstreamReq] = await arrived
  await within(
    new Promise((resolve) => (upstreamReq.socket.destroyed ? resolve(undefined) : upstreamReq.socket.once('close', resolve))),
    'the stalled upstream socket to close',
  )
  t.true(upstreamReq.socket.destroyed)
})

test('the proxy keeps serving, over the same pool, after upstream failures', async (t) => {
  // No timers involved: one upstream that resets, breaks off mid-body or answers, by path.
  const upstream = await listenForTest(
    t,
    http.createServer((req, res) => {
      if (req.url === '/api/3/reset') req.socket.destroy()
      else if (req.url === '/api/3/broken') {
        res.writeHead(200, { 'content-length': 100 })
        res.write('partial', () => req.socket.destroy())
      } else res.end('{"response":{"ok":true}}')
    }),
  )
  const proxy = await proxyTo(t, `http://127.0.0.1:${upstream.port}`)
  assertProxyError(t, await send(`${proxy.url}/reset`), 502, 'upstream_reset')
  t.is((await send(`${proxy.url}/ping`)).status, 200)
  t.false((await readToTheEnd(`${proxy.url}/broken`)).complete)
  const after = await send(`${proxy.url}/ping`)
  t.is(after.status, 200)
  t.is(after.body.toString(), '{"response":{"ok":true}}')
})

test('an upload that takes longer than the response timeout still completes: that timeout starts once the body is sent', async (t) => {
  // The clock here is a second request to a path the upstream never answers: its 504 proves the
  // response timeout has run out since the upload began, with no timer in the test itself.
  const seen = new EventEmitter()
  let upstreamBytes = 0
  const upstream = await listenForTest(
    t,
    http.createServer((req, res) => {
      if (req.url === '/api/3/hang') return
      req.on('data', (c: Buffer) => {
        upstreamBytes += c.length
        seen.emit('bytes', upstreamBytes)
      })
      req.once('end', () => res.end(String(upstreamBytes)))
    }),
  )
  const proxy = await proxyTo(t, `http://127.0.0.1:${upstream.port}`, { responseTimeout: '1s' })
  const answer = within(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${proxy.url}/upload`, { method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.once('error', reject)
      req.write('first part;')
      nextEvent<[number]>(seen, 'bytes', 'the first part at the upstream', (n) => n >= 'first part;'.length)
        .then(() => send(`${proxy.url}/hang`))
        .then((hang) => {
          t.is(hang.status, 504, 'the response timeout has passed while the upload was still going')
          req.end('last part')
        }, reject)
    }),
    'the slow upload',
  )
  const reply = await answer
  t.is(reply.status, 200)
  t.is(reply.body, String('first part;last part'.length))
})

test('an upload that stalls is cut by the idle timeout and its upstream request closed', async (t) => {
  const upstream = await listenForTest(
    t,
    http.createServer(() => {}),
  )
  const proxy = await proxyTo(t, `http://127.0.0.1:${upstream.port}`, { idleTimeout: '500ms', responseTimeout: '60s' })
  const seenAtUpstream = nextEvent<[IncomingMessage]>(upstream.server, 'request', 'the upload at the upstream')
  const reply = within(
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = http.request(
        `${proxy.url}/upload`,
        { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' } },
        (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }))
          res.once('error', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.once('error', () => resolve({ status: 0, body: '' }))
      req.write('the start of an upload that never ends')
    }),
    'the stalled upload to be answered',
  )
  const [upstreamReq] = await seenAtUpstream
  await within(
    new Promise((resolve) => (upstreamReq.socket.destroyed ? resolve(undefined) : upstreamReq.socket.once('close', resolve))),
    'the stalled upstream request to close',
  )
  t.false(upstreamReq.complete)
  const answer = await reply
  t.is(answer.status, 504)
  t.is((JSON.parse(answer.body) as { error: string }).error, 'upstream_timeout')
})
