import net from 'node:net'
import tls from 'node:tls'
import test from 'ava'
import { SELF_SIGNED, SIM_TOKEN, startSim } from '../helpers/forwarding.js'
import { createKey, gwRequest, loginMember, memberToken, startGateway, startGatewaySim } from '../helpers/gateway.js'
import { startProxy } from '../helpers/proxy.js'

// Issue 9, finding 1: a Connection header that named Content-Length made the proxy delete the
// body's framing and still send the body; on a GET, Node then wrote it with no length, and
// Cloud 66 read it as the next request on the pooled connection, run with the next caller's
// token. Such a request is now refused with 400 before anything is forwarded.

const SMUGGLED = 'DELETE /api/3/stacks/abc HTTP/1.1\r\nX-Swallow: '

/** Writes `bytes` on a fresh connection and resolves with the first status line's code. */
function sendRaw(connect: () => net.Socket, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect()
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m && text.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(Number(m[1]))
      }
    })
    socket.on('error', reject)
    socket.write(bytes)
  })
}

test('finding 1, local: a Connection header naming Content-Length is refused, and no smuggled DELETE gets past --deny-path', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags: { denyPaths: ['DELETE /stacks/*'] }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  for (const option of ['content-length', 'Content-Length', 'keep-alive, content-length', 'transfer-encoding']) {
    const framing = option.includes('transfer')
      ? `Transfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`
      : `Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`
    const status = await sendRaw(
      () => net.connect(proxy.port, '127.0.0.1'),
      `GET /stacks.json HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nConnection: ${option}\r\n${framing}`,
    )
    t.is(status, 400, `Connection: ${option}`)
    // Any ordinary request from any client afterwards.
    const res = await fetch(`${proxy.url}/stacks.json`)
    t.is(res.status, 200)
    await res.arrayBuffer()
  }
  t.deepEqual(
    sim.requests.map((r) => `${r.method} ${r.url}`),
    ['GET /api/3/stacks.json', 'GET /api/3/stacks.json', 'GET /api/3/stacks.json', 'GET /api/3/stacks.json'],
    'Cloud 66 saw only the ordinary requests',
  )
})

test("finding 1, gateway: a read-only key cannot smuggle a DELETE that runs with another member's token", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const one = await loginMember(t, gw, sim, 1)
  const two = await loginMember(t, gw, sim, 2)
  const reader = await createKey(gw, one.cookie, { label: 'reader', read_only: true })
  const victim = await createKey(gw, two.cookie, { label: 'victim' })
  const before = sim.requests.length
  const basic = Buffer.from(`me:${reader.key}`).toString('base64')
  const status = await sendRaw(
    () => tls.connect({ host: '127.0.0.1', port: gw.port, ca: SELF_SIGNED.cert, servername: 'localhost', checkServerIdentity: () => undefined }),
    `GET /stacks.json HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nAuthorization: Basic ${basic}\r\nConnection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
  )
  t.is(status, 400)
  const res = await gwRequest(gw, '/stacks.json', { bearer: victim.key })
  t.is(res.status, 200)
  const seen = sim.requests.slice(before)
  t.deepEqual(
    seen.map((r) => `${r.method} ${r.url}`),
    ['GET /api/3/stacks.json'],
  )
  t.is(seen[0]?.token, await memberToken(gw, 'cloud66:2'))
})
