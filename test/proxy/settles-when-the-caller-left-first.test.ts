// How a forward ends and what it leaves behind. A caller can hang up while its request is still being prepared (its key or token looked up,
// its body read). The forward that starts after that must end at once: http-proxy swallows the
// upstream error it gets for a caller whose socket is gone, and Node emits a response's 'close'
// only once, so a forward waiting for either would wait for the response timeout. Meanwhile an
// identical GET of the same caller would wait for it (coalescing), and shutdown would too.
import { once } from 'node:events'
import http from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import test from 'ava'
import { loadConfig } from '../../src/config/load.js'
import { createMetrics } from '../../src/metrics.js'
import { createForwarder } from '../../src/proxy/forward/forward.js'
import type { ForwardResult } from '../../src/proxy/forward/forward.js'
import { Secret } from '../../src/secret.js'
import { listenForTest, SIM_TOKEN, startSim, within } from '../helpers/forwarding.js'
import { memoryLog } from '../helpers/proxy.js'

test('a forward that starts after its caller hung up ends at once as client_gone, sends nothing, and the next request goes through', async (t) => {
  const sim = await startSim(t)
  const config = loadConfig({
    flags: { upstream: sim.url.origin, responseTimeout: '60s', dataDir: '/nonexistent-c66-proxy-test-data' },
    env: { HOME: '/nonexistent-c66-proxy-test-home' },
  })
  const forwarder = createForwarder(config, createMetrics(), memoryLog('warn').log)
  t.teardown(() => forwarder.close())
  const job = {
    upstreamPath: '/api/3/gate/never',
    token: new Secret(SIM_TOKEN),
    body: undefined,
    replayable: true,
    publicOrigin: 'http://127.0.0.1',
    onUnauthorized: () => Promise.resolve(undefined),
  }
  const results: Array<Promise<ForwardResult>> = []
  const { port } = await listenForTest(
    t,
    http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const leaves = req.url === '/leaves'
      void (async () => {
        if (leaves) {
          req.socket.destroy()
          await once(res, 'close')
        }
        results.push(forwarder.forward(req, res, leaves ? job : { ...job, upstreamPath: '/api/3/stacks.json' }))
      })()
    }),
  )
  const gone = http.get(`http://127.0.0.1:${port}/leaves`, { agent: false })
  gone.on('error', () => undefined)
  while (results.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const result = await within(results[0] as Promise<ForwardResult>, 'the forward of a caller that left', 3_000)
  t.is(result.outcome, 'client_gone')
  t.is(sim.waitingAtGate('never'), 0, 'nothing was sent for it')

  const next = await within(
    new Promise<number>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/next`, { agent: false }, (res) => resolve(res.resume().statusCode ?? 0)).on('error', reject)
    }),
    'the next request',
    3_000,
  )
  t.is(next, 200)
})

test("the bearer reaches Cloud 66 but does not stay on the caller's request object, with a body or without", async (t) => {
  const sim = await startSim(t)
  const config = loadConfig({
    flags: { upstream: sim.url.origin, dataDir: '/nonexistent-c66-proxy-test-data' },
    env: { HOME: '/nonexistent-c66-proxy-test-home' },
  })
  const forwarder = createForwarder(config, createMetrics(), memoryLog('warn').log)
  t.teardown(() => forwarder.close())
  const left: Array<string | undefined> = []
  const { port } = await listenForTest(
    t,
    http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const body = req.method === 'POST' ? Buffer.from('{"a":1}') : undefined
      const job = {
        upstreamPath: req.method === 'POST' ? '/api/3/echo' : '/api/3/stacks.json',
        token: new Secret(SIM_TOKEN),
        body,
        replayable: true,
        publicOrigin: 'http://127.0.0.1',
        onUnauthorized: () => Promise.resolve(undefined),
      }
      void forwarder.forward(req, res, job).then(() => left.push(req.headers.authorization))
    }),
  )
  for (const method of ['GET', 'POST']) {
    const status = await within(
      new Promise<number>((resolve, reject) => {
        const r = http.request(`http://127.0.0.1:${port}/x`, { method, agent: false, headers: method === 'POST' ? { 'content-length': 7 } : {} }, (res) =>
          resolve(res.resume().statusCode ?? 0),
        )
        r.on('error', reject)
        r.end(method === 'POST' ? '{"a":1}' : undefined)
      }),
      method,
    )
    t.is(status, 200, method)
  }
  while (left.length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  t.deepEqual(left, [undefined, undefined])
  t.deepEqual(
    sim.requests.map((r) => r.token),
    [SIM_TOKEN, SIM_TOKEN],
  )
})
