// Forwarding contract, part 7: a caller that goes away aborts its upstream request at once.
// http-proxy stopped doing this on Node >= 15.5 (http-party/node-http-proxy#1559): it listens for
// the request's 'aborted', which a finished GET no longer emits, so a hung Cloud 66 call would keep
// its upstream socket forever. Each test watches the simulator's own socket for the request and
// fails (by the safety timeout) if that socket is not closed after the caller left.
import test, { type ExecutionContext } from 'ava'
import http, { type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, generatedBody, listenForTest, logLine, metricSum, metricsText, nextEvent, startSim, within } from '../helpers/forwarding.js'
import type { Simulator } from '../../src/simulator/index.js'

async function setup(t: ExecutionContext): Promise<{ sim: Simulator; proxy: StartedProxy }> {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  return { sim, proxy }
}

/** Resolves with the upstream's request and socket when a request for `path` arrives at the simulator. */
function upstreamReceives(sim: Simulator, path: string): Promise<{ req: IncomingMessage; socket: Socket; closed: Promise<unknown> }> {
  return nextEvent<[IncomingMessage]>(sim.server, 'request', `the upstream to receive ${path}`, (req) => req.url === path).then(([req]) => ({
    req,
    socket: req.socket,
    closed: new Promise((resolve) => (req.socket.destroyed ? resolve(undefined) : req.socket.once('close', resolve))),
  }))
}

test('a caller that leaves while /api/3/hang is pending closes the upstream socket', async (t) => {
  const { sim, proxy } = await setup(t)
  const arrived = upstreamReceives(sim, '/api/3/hang')
  const req = http.get(`${proxy.url}/api/3/hang`, { agent: false })
  req.once('error', () => {}) // the test destroys it
  const upstream = await arrived
  t.false(upstream.socket.destroyed, 'the upstream socket is open while the caller waits')
  req.destroy()
  await within(upstream.closed, 'the upstream socket to close after the caller left')
  t.true(upstream.socket.destroyed)
  const line = await logLine(proxy, 'the hang request', (l) => l['msg'] === 'request' && l['route'] === 'other' && l['outcome'] === 'client_gone')
  t.is(line['outcome'], 'client_gone')
  t.is(metricSum(await metricsText(proxy), 'c66_proxy_upstream_errors_total'), 0, 'a caller leaving is not an upstream error')
})

test('a caller that leaves after the headers of a stalled answer closes the upstream socket', async (t) => {
  const { sim, proxy } = await setup(t)
  const arrived = upstreamReceives(sim, '/api/3/hang?after_headers=1')
  const response = within(
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.get(`${proxy.url}/api/3/hang?after_headers=1`, { agent: false }, resolve)
      req.once('error', reject)
    }),
    "the stalled answer's headers",
  )
  const upstream = await arrived
  const res = await response
  t.is(res.statusCode, 200)
  const firstBytes = await nextEvent<[Buffer]>(res, 'data', 'the start of the stalled body')
  t.is(firstBytes[0].toString(), '{"response":[')
  t.false(upstream.socket.destroyed)
  res.destroy()
  await within(upstream.closed, 'the upstream socket to close after the caller left mid-answer')
  t.true(upstream.socket.destroyed)
})

test('a caller that leaves in the middle of a large download closes the upstream socket', async (t) => {
  const { sim, proxy } = await setup(t)
  const arrived = upstreamReceives(sim, '/api/3/big?mb=1024')
  let upstreamFinished = false
  sim.server.on('request', (_req: IncomingMessage, res: http.ServerResponse) => res.once('finish', () => (upstreamFinished = true)))
  const response = within(
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.get(`${proxy.url}/api/3/big?mb=1024`, { agent: false }, resolve)
      req.once('error', reject)
    }),
    'the download to start',
  )
  const upstream = await arrived
  const res = await response
  let received = 0
  await new Promise<void>((resolve) => {
    res.on('data', (c: Buffer) => {
      received += c.length
      if (received >= 4 * 1024 * 1024) {
        res.destroy()
        resolve()
      }
    })
  })
  await within(upstream.closed, 'the upstream socket to close after the caller left mid-download')
  t.true(upstream.socket.destroyed)
  t.false(upstreamFinished, 'the upstream never got to send the whole gigabyte')
  const line = await logLine(proxy, 'the abandoned download', (l) => l['msg'] === 'request' && l['outcome'] !== undefined)
  t.is(line['outcome'], 'client_gone')
  t.is(metricSum(await metricsText(proxy), 'c66_proxy_upstream_errors_total'), 0, 'a caller leaving is not an upstream error')
})

test('a caller that leaves in the middle of an upload closes the upstream socket', async (t) => {
  const { sim, proxy } = await setup(t)
  const arrived = upstreamReceives(sim, '/api/3/upload')
  const req = http.request(`${proxy.url}/api/3/upload`, {
    method: 'POST',
    agent: false,
    headers: { 'content-length': 100 * 1024 * 1024, 'content-type': 'application/octet-stream' },
  })
  req.once('error', () => {}) // the test destroys it
  req.write(Buffer.alloc(256 * 1024, 'u'))
  const upstream = await arrived
  req.destroy()
  await within(upstream.closed, 'the upstream socket to close after the uploader left')
  t.true(upstream.socket.destroyed)
  const line = await logLine(proxy, 'the abandoned upload', (l) => l['msg'] === 'request' && l['route'] === 'other')
  t.is(line['outcome'], 'client_gone')
  t.is(metricSum(await metricsText(proxy), 'c66_proxy_upstream_errors_total'), 0, 'a caller leaving is not an upstream error')
})

test('a caller that leaves while the proxy waits for a slow upstream leaves no upstream socket open', async (t) => {
  // Same check against a bare node:http upstream that accepts the request and never answers,
  // without the simulator's own bookkeeping in the way.
  const requests: IncomingMessage[] = []
  const upstream = await listenForTest(
    t,
    http.createServer((req) => requests.push(req)),
  )
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${upstream.port}`, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const arrived = nextEvent<[IncomingMessage]>(upstream.server, 'request', 'the upstream to receive the request')
  const req = http.get(`${proxy.url}/stacks`, { agent: false })
  req.once('error', () => {})
  const [upstreamReq] = await arrived
  t.is(upstream.sockets.size, 1)
  req.destroy()
  await within(new Promise((resolve) => upstreamReq.socket.once('close', resolve)), 'the upstream socket to close')
  t.is(upstream.sockets.size, 0)
})

test('a caller that leaves while a body is still streaming up stops the stream to the upstream', async (t) => {
  // Chunked upload through the proxy; the caller disappears after the upstream has seen data.
  const received: number[] = []
  const upstream = await listenForTest(
    t,
    http.createServer((req) => {
      req.on('data', (c: Buffer) => received.push(c.length))
    }),
  )
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${upstream.port}`, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const arrived = nextEvent<[IncomingMessage]>(upstream.server, 'request', 'the upstream to receive the upload')
  const req = http.request(`${proxy.url}/upload`, { method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } })
  req.once('error', () => {})
  const body = generatedBody(1024 * 1024 * 1024)
  body.pipe(req)
  const [upstreamReq] = await arrived
  await nextEvent(upstreamReq, 'data', 'upload data at the upstream')
  body.unpipe(req)
  body.destroy()
  req.destroy()
  await within(new Promise((resolve) => upstreamReq.socket.once('close', resolve)), 'the upstream socket to close')
  t.false(upstreamReq.complete, 'the upstream saw an aborted upload, not a complete one')
})
