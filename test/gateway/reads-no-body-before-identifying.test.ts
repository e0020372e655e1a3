import tls from 'node:tls'
import test from 'ava'
import { SELF_SIGNED, within } from '../helpers/forwarding.js'
import { gwRequest, loginMember, startGateway, startGatewaySim, type StartedGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

// Issue 10, finding 2: 200 connections sending `POST /-/api/keys` with Content-Length: 10000 and
// no body were all still open after 75 s: /-/api read the body before it checked the session, and
// nothing bounded how long a body may take. Every own route now checks the session (or key)
// first; a refused request's connection is closed instead of waiting for its body; bodies have a
// deadline; and one address may hold only so many connections.

/** Opens a TLS connection, writes `head`, and resolves with what came back once the server closed it. */
function headersOnly(gw: StartedGateway, head: string): { closed: Promise<string>; socket: tls.TLSSocket } {
  const socket = tls.connect({ host: '127.0.0.1', port: gw.port, ca: SELF_SIGNED.cert, checkServerIdentity: () => undefined })
  let text = ''
  const closed = new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')))
    socket.once('close', () => resolve(text))
    socket.once('error', () => undefined)
  })
  socket.write(head)
  return { closed, socket }
}

test('finding 2: API calls without a session are refused before their body is read, and their connections closed', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const pending = Array.from({ length: 40 }, (_v, i) =>
    headersOnly(gw, `POST /-/api/keys HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\nX-N: ${i}\r\n\r\n`),
  )
  t.teardown(() => pending.forEach((p) => p.socket.destroy()))
  const answers = await within(Promise.all(pending.map((p) => p.closed)), 'every connection to be answered and closed')
  for (const answer of answers) {
    t.regex(answer, /^HTTP\/1\.1 401 /)
    t.regex(answer, /"error":"unidentified"/)
    t.regex(answer, /\r\nConnection: close\r\n/i)
  }
})

test("finding 2: a signed-in member's API body that never arrives is cut by the body deadline", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { requestBodyTimeout: '1s' } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { closed, socket } = headersOnly(
    gw,
    `POST /-/api/keys HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nCookie: ${cookie}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"la`,
  )
  t.teardown(() => socket.destroy())
  const answer = await within(closed, 'the stalled API body to be cut')
  t.regex(answer, /^HTTP\/1\.1 408 /)
  t.regex(answer, /"error":"body_timeout"/)
  t.is((await gwRequest(gw, '/-/api/keys', { cookie })).json<unknown[]>().length, 0, 'no key was made')
})

test('finding 2: the own log-out form that never arrives is cut by the body deadline', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { requestBodyTimeout: '1s' } })
  const { closed, socket } = headersOnly(
    gw,
    `POST /-/logout HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ncsrf=`,
  )
  t.teardown(() => socket.destroy())
  t.regex(await within(closed, 'the stalled form to be cut'), /^HTTP\/1\.1 408 /)
})

test('finding 2: one address may hold only --max-client-connections connections; more are closed at once, and freed ones count again', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { maxClientConnections: 10 } })
  const open: tls.TLSSocket[] = []
  t.teardown(() => open.forEach((s) => s.destroy()))
  const connect = () =>
    new Promise<'open' | 'closed'>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: gw.port, ca: SELF_SIGNED.cert, checkServerIdentity: () => undefined })
      open.push(socket)
      socket.once('secureConnect', () => resolve('open'))
      socket.once('error', () => resolve('closed'))
      socket.once('close', () => resolve('closed'))
    })
  const first = await Promise.all(Array.from({ length: 10 }, connect))
  t.deepEqual(
    first,
    Array.from({ length: 10 }, () => 'open'),
  )
  t.is(await connect(), 'closed', 'the eleventh connection is refused')
  // Once one closes, a new one may open (the server learns of the close a moment later).
  ;(open[0] as tls.TLSSocket).destroy()
  t.is(await until('a freed slot to take a new connection', async () => ((await connect()) === 'open' ? 'open' : undefined)), 'open')
  for (const s of open) s.destroy()
  const metrics = await until('a connection for the metrics', async () => gwRequest(gw, '/-/metrics').catch(() => undefined))
  t.regex(metrics.body, /c66_proxy_rejected_requests_total\{reason="too_many_connections"\} [1-9]/)
})
