// Forwarding contract, part 3: every method Cloud 66 clients use reaches the upstream with its
// body, byte for byte, whatever the method: old cx builds send GET with a JSON body, and a
// chunked DELETE body must not be dropped (http-proxy's own 'deleteLength' pass would empty it).
import test from 'ava'
import { createHash } from 'node:crypto'
import { rawRequest } from '../helpers/raw-http.js'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, recorded, send, startSim } from '../helpers/forwarding.js'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

const reachesUpstream = test.macro({
  async exec(t, method: string) {
    const sim = await startSim(t)
    const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
    const reply = await send(`${proxy.url}/api/3/echo`, { method })
    t.is(reply.status, 200)
    const [record] = await recorded(sim, 1)
    t.is(record?.method, method)
    t.is(record?.url, '/api/3/echo')
    t.is(record?.bodyBytes, 0)
  },
  title: (_given, method: string) => `${method} without a body reaches the upstream as ${method}`,
})

for (const method of METHODS) test(reachesUpstream, method)

const bodyArrivesExactly = test.macro({
  async exec(t, method: string, chunked: boolean, contentType: string, body: Buffer) {
    const sim = await startSim(t)
    const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
    const reply = await send(`${proxy.url}/api/3/echo`, { method, chunked, body, headers: { 'content-type': contentType } })
    t.is(reply.status, 200)
    const [record] = await recorded(sim, 1)
    if (!record) throw new Error('no upstream request')
    t.is(record.method, method)
    t.is(record.bodyBytes, body.length, 'the upstream received every byte')
    t.true(record.body.equals(body), 'the upstream received exactly the bytes sent')
    t.is(record.headers['content-type'], contentType)
    if (chunked) t.is(record.headers['transfer-encoding'], 'chunked', 'a chunked body stays chunked')
    else t.is(record.headers['content-length'], String(body.length), 'a sized body keeps its Content-Length')
    if (method !== 'HEAD') t.true(reply.body.equals(body), 'the echo came back through the proxy intact')
  },
  title: (_given, method: string, chunked: boolean, contentType: string) =>
    `${method} with a ${chunked ? 'chunked' : 'Content-Length'} ${contentType} body reaches the upstream byte for byte`,
})

const jsonBody = Buffer.from('{"include_servers":true,"include_private_key":false,"page":1}')
const formBody = Buffer.from('key=DATABASE_URL&value=postgres%3A%2F%2Fdb%2Fapp&apply_strategy=immediately')
const binaryBody = Buffer.from(Array.from({ length: 3000 }, (_v, i) => (i * 7) % 256))

test(bodyArrivesExactly, 'GET', false, 'application/json', jsonBody)
test(bodyArrivesExactly, 'GET', true, 'application/json', jsonBody)
test(bodyArrivesExactly, 'HEAD', false, 'application/json', jsonBody)
test(bodyArrivesExactly, 'POST', false, 'application/x-www-form-urlencoded', formBody)
test(bodyArrivesExactly, 'POST', true, 'application/octet-stream', binaryBody)
test(bodyArrivesExactly, 'PUT', false, 'application/json', jsonBody)
test(bodyArrivesExactly, 'PATCH', false, 'application/json', jsonBody)
test(bodyArrivesExactly, 'DELETE', false, 'application/json', jsonBody)
test(bodyArrivesExactly, 'DELETE', true, 'application/json', jsonBody)
test(bodyArrivesExactly, 'OPTIONS', false, 'application/json', jsonBody)
test(bodyArrivesExactly, 'OPTIONS', true, 'text/plain', Buffer.from('options body'))

test('a body larger than the replay buffer is streamed through intact', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { replayBodyLimit: 1024 } })
  const body = Buffer.from(Array.from({ length: 512 * 1024 }, (_v, i) => (i * 31) % 251))
  const reply = await send(`${proxy.url}/api/3/upload`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } })
  t.is(reply.status, 200)
  t.deepEqual(JSON.parse(reply.body.toString()), { response: { bytes: body.length } })
  const [record] = await recorded(sim, 1)
  t.is(record?.bodyBytes, body.length)
  t.is(
    createHash('sha256')
      .update(record?.body ?? Buffer.alloc(0))
      .digest('hex'),
    createHash('sha256').update(body).digest('hex'),
  )
})

test('a GET with a form body, as the Cloud 66 docs show for backups, reaches the endpoint as parameters', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  // The upstream reads the page number from the GET body: page 2 answers differently from page 1.
  const page1 = await send(`${proxy.url}/stacks.json`)
  const page2 = await send(`${proxy.url}/stacks.json`, { body: 'page=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.is(page2.status, 200)
  const current = (reply: typeof page1) => (JSON.parse(reply.body.toString()) as { pagination: { current: number } }).pagination.current
  t.is(current(page1), 1)
  t.is(current(page2), 2)
})

test('a chunked DELETE sent as raw bytes arrives with its whole body', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await rawRequest(
    proxy.port,
    `DELETE /api/3/echo HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      '5\r\n{"id"\r\n7\r\n:"abc"}\r\n0\r\n\r\n',
  )
  t.is(reply.status, 200)
  const [record] = await recorded(sim, 1)
  t.is(record?.method, 'DELETE')
  t.is(record?.body.toString(), '{"id":"abc"}')
})
