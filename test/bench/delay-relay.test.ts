// The WAN workload's relay must only add distance: every byte arrives, in order, both ways, and a
// half-close goes through (TLS and HTTP/1.1 both rely on it). Only lower bounds of the delay are
// checked: a relay cannot deliver early, however busy the machine is.
import net from 'node:net'
import test from 'ava'
import { listenForTest } from '../helpers/forwarding.js'
import { startDelayRelay } from './delay-relay.js'

test('a relayed connection carries every chunk in order both ways, passes the half-close on, and adds the delay', async (t) => {
  // An echo server that answers only once the client has finished sending (its FIN came through).
  const echo = net.createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.once('end', () => socket.end(Buffer.concat(chunks)))
  })
  const { port } = await listenForTest(t, echo)
  const relay = await startDelayRelay({ host: '127.0.0.1', port }, 20)
  t.teardown(() => relay.close())

  const started = performance.now()
  const client = net.connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true })
  const sent = Array.from({ length: 50 }, (_, i) => `chunk ${i};`)
  for (const chunk of sent) client.write(chunk)
  client.end()
  const received: Buffer[] = []
  client.on('data', (c: Buffer) => received.push(c))
  await new Promise<void>((resolve, reject) => {
    client.once('end', () => resolve())
    client.once('error', reject)
  })
  const elapsed = performance.now() - started
  client.destroy()
  t.is(Buffer.concat(received).toString(), sent.join(''))
  // The handshake's round trip, the way there and the answer's way back (each hop may be due up
  // to a millisecond early: Node's timers have millisecond resolution).
  t.true(elapsed >= 4 * 20 - 2, `${elapsed.toFixed(1)} ms`)
  t.is(relay.accepted(), 1)
})
