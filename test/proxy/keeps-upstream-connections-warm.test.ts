// Forwarding contract, part 8b: the pool to Cloud 66 stays warm and safe. Sequential requests
// share one upstream connection; an idle one is closed by the proxy before the server would close
// it (so no request lands on a connection the server is closing), and the connection opened after
// that resumes the TLS session. c66_proxy_upstream_connections_opened_total shows it all.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'
import { SELF_SIGNED, SIM_TOKEN, metricSum, metricValue, metricsText, send, startSim, within } from '../helpers/forwarding.js'
import { tlsFiles } from '../helpers/gateway.js'
import { startProxy } from '../helpers/proxy.js'
import { spawnProxy } from '../helpers/spawned-proxy.js'

const OPENED = 'c66_proxy_upstream_connections_opened_total'

test('over https, sequential requests share one upstream connection, and the one opened after an idle close resumes the TLS session', async (t) => {
  const sim = await startSim(t, { tls: SELF_SIGNED })
  const serverSide: Array<{ socket: TLSSocket; resumed: boolean }> = []
  sim.server.on('secureConnection', (socket: TLSSocket) => serverSide.push({ socket, resumed: socket.isSessionReused() }))
  // The built proxy, trusting the test certificate the way a user trusts a private CA.
  const { cert } = await tlsFiles(t)
  const proxy = await spawnProxy(t, sim.url, ['--upstream-keep-alive-timeout', '300ms', '--log-level', 'warn'], {
    CLOUD66_ACCESS_TOKEN: SIM_TOKEN,
    NODE_EXTRA_CA_CERTS: cert,
  })
  const opened = async (session: string) => metricValue((await send(`${proxy.url}/-/metrics`)).body.toString('utf8'), OPENED, { tls_session: session })

  t.is(await opened('new'), 0, 'the series exist before any connection')
  for (let i = 0; i < 10; i++) t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is(await opened('new'), 1)
  t.is(await opened('resumed'), 0)
  t.is(serverSide.length, 1)

  // Idle past the keep-alive timeout: the proxy closes the connection itself ...
  const first = serverSide[0]?.socket as TLSSocket
  if (!first.destroyed) await within(new Promise((resolve) => first.once('close', resolve)), 'the proxy to close its idle connection')
  t.false(serverSide[0]?.resumed)

  // ... and the next request's connection resumes the session instead of a full handshake.
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is(await opened('new'), 1)
  t.is(await opened('resumed'), 1)
  t.is(serverSide.length, 2)
  t.true(serverSide[1]?.resumed, 'the server resumed the session too')
  t.is(await opened('none'), 0, 'no plain http series for an https upstream')
})

/**
 * Makes the simulator behave like a front that drops idle connections after `idleMs` without
 * announcing it (no `Keep-Alive: timeout=` header, as nginx by default), and counts those drops.
 */
function dropIdleConnections(server: Server, idleMs: number): { readonly dropped: () => number } {
  let dropped = 0
  const timers = new WeakMap<Socket, NodeJS.Timeout>()
  server.keepAliveTimeout = 0 // Node's own close (and its header) off: ours takes over
  server.on('connection', (socket: Socket) => socket.once('close', () => clearTimeout(timers.get(socket))))
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket
    clearTimeout(timers.get(socket))
    res.once('finish', () => {
      timers.set(
        socket,
        setTimeout(() => {
          dropped += 1
          socket.destroy()
        }, idleMs),
      )
    })
  })
  return { dropped: () => dropped }
}

test('a server that drops idle connections after 1 s unannounced: requests after pauses around 1 s never fail, because the proxy closes first', async (t) => {
  const sim = await startSim(t)
  const front = dropIdleConnections(sim.server, 1_000)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { upstreamKeepAliveTimeout: '400ms' } })
  const pauses = [950, 1_000, 1_050, 1_200]
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  for (const pause of pauses) {
    await sleep(pause)
    t.is((await send(`${proxy.url}/stacks.json`)).status, 200, `after ${pause} ms idle`)
  }
  t.is(front.dropped(), 0, 'the server never had to close an idle connection')
  const text = await metricsText(proxy)
  t.is(metricValue(text, OPENED, { tls_session: 'none' }), pauses.length + 1, 'each request after a pause opened a connection')
  t.is(metricSum(text, 'c66_proxy_upstream_errors_total'), 0)
})

test('the test front really drops idle connections: with a keep-alive timeout above its 1 s, it is the server that closes', async (t) => {
  const sim = await startSim(t)
  const front = dropIdleConnections(sim.server, 1_000)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { upstreamKeepAliveTimeout: '5s' } })
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  await sleep(1_300)
  t.is(front.dropped(), 1)
})

test('a response that is silent for longer than the keep-alive timeout is not cut: the timeout only closes idle pooled connections', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { upstreamKeepAliveTimeout: '200ms' } })
  const reply = await send(`${proxy.url}/api/3/slow?chunks=3&interval_ms=500`)
  t.is(reply.status, 200)
  t.deepEqual(JSON.parse(reply.body.toString('utf8')), [
    { chunk: 0, of: 3 },
    { chunk: 1, of: 3 },
    { chunk: 2, of: 3 },
  ])
})

test('a server that announces Keep-Alive: timeout=2 and closes after 2.5 s: the proxy closes idle connections one second before the announced timeout, whatever its own setting', async (t) => {
  const sim = await startSim(t)
  // Node's server announces floor(keepAliveTimeout / 1000) seconds and closes at keepAliveTimeout.
  sim.server.keepAliveTimeout = 2_500
  // A connection the proxy closes reaches the server as an end (FIN) first; one the server
  // closes on its own timeout closes without it.
  let serverClosed = 0
  sim.server.on('connection', (socket: Socket) => {
    let ended = false
    socket.once('end', () => (ended = true))
    socket.once('close', () => {
      if (!ended) serverClosed += 1
    })
  })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } }) // default keep-alive timeout: 55 s
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is(sim.requests.at(-1)?.headers.connection, 'keep-alive')
  await sleep(600)
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200, 'a short pause reuses the connection')
  t.is(metricValue(await metricsText(proxy), OPENED, { tls_session: 'none' }), 1)
  for (const pause of [1_600, 2_000, 2_450, 2_700]) {
    await sleep(pause)
    t.is((await send(`${proxy.url}/stacks.json`)).status, 200, `after ${pause} ms idle`)
  }
  const text = await metricsText(proxy)
  t.is(metricValue(text, OPENED, { tls_session: 'none' }), 5, 'each pause over a second ended with the proxy closing the connection')
  t.is(metricSum(text, 'c66_proxy_upstream_errors_total'), 0)
  t.is(serverClosed, 0, 'the server never had to close an idle connection')
})
