// Forwarding contract, part 2: which request headers reach Cloud 66. The proxy's token replaces
// any credential the caller sent; forwarding and hop-by-hop headers never pass (including the
// underscore spelling that smuggled X_Forwarded_User past oauth2-proxy, CVE-2025-64484);
// everything Cloud 66 clients rely on passes untouched, and Host names the upstream.
import test, { type ExecutionContext } from 'ava'
import type { OutgoingHttpHeaders } from 'node:http'
import { rawRequest } from '../helpers/raw-http.js'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, recorded, send, startSim } from '../helpers/forwarding.js'
import type { SimulatorRequestRecord } from '../../src/simulator/index.js'

/** Sends one GET through the proxy with `headers` and returns the upstream's record of it. */
async function upstreamSees(t: ExecutionContext, headers: OutgoingHttpHeaders): Promise<{ record: SimulatorRequestRecord; simHost: string }> {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  // Raw bytes: node:http would refuse some of these (a Trailer header without chunked encoding).
  const lines = [`GET /api/3/stacks.json HTTP/1.1`, `Host: 127.0.0.1:${proxy.port}`]
  let connection = 'close'
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'connection') connection = `close, ${String(value)}`
    else lines.push(`${name}: ${String(value)}`)
  }
  lines.push(`Connection: ${connection}`, '', '')
  const reply = await rawRequest(proxy.port, lines.join('\r\n'))
  t.is(reply.status, 200, 'the request went through')
  const [record] = await recorded(sim, 1)
  if (!record) throw new Error('no upstream request')
  return { record, simHost: sim.url.host }
}

/** Header names (lower case) as the upstream received them, duplicates included. */
const namesOf = (record: SimulatorRequestRecord) => record.rawHeaders.filter((_v, i) => i % 2 === 0).map((n) => n.toLowerCase())

const neverReachesUpstream = test.macro<[headers: OutgoingHttpHeaders, mustNotSee?: readonly string[]]>({
  async exec(t, headers, mustNotSee = Object.keys(headers)) {
    const { record } = await upstreamSees(t, headers)
    const names = namesOf(record)
    for (const name of mustNotSee) t.false(names.includes(name.toLowerCase()), `${name} reached the upstream`)
    const sentValues = Object.values(headers).map(String)
    for (let i = 1; i < record.rawHeaders.length; i += 2) {
      const value = record.rawHeaders[i] ?? ''
      for (const sent of sentValues) t.false(value.includes(sent), `the value "${sent}" reached the upstream as ${record.rawHeaders[i - 1]}`)
    }
  },
  title: (given, headers) => given ?? `${Object.keys(headers).join(' + ')} never reaches the upstream`,
})

// The proxy sends an Authorization of its own, so only the caller's value is checked here.
test("the caller's Authorization never reaches the upstream", neverReachesUpstream, { Authorization: 'Bearer caller-secret-token' }, [])
test(
  'a lower-case "authorization: bearer" from the caller never reaches the upstream',
  neverReachesUpstream,
  { authorization: 'bearer caller-lowercase-token' },
  [],
)
test('Proxy-Authorization never reaches the upstream', neverReachesUpstream, { 'Proxy-Authorization': 'Basic Y2FsbGVyOnNlY3JldA==' })
test('Cookie never reaches the upstream', neverReachesUpstream, { Cookie: '_cloud66_session=caller-session-cookie' })
test('X-Forwarded-For never reaches the upstream', neverReachesUpstream, { 'X-Forwarded-For': '203.0.113.7' })
test('X-Forwarded-Host never reaches the upstream', neverReachesUpstream, { 'X-Forwarded-Host': 'evil.example' })
test('X-Forwarded-Proto and X-Forwarded-Port never reach the upstream', neverReachesUpstream, {
  'X-Forwarded-Proto': 'https-spoofed',
  'X-Forwarded-Port': '4433',
})
test('X-Forwarded-User and X-Forwarded-Prefix never reach the upstream', neverReachesUpstream, {
  'X-Forwarded-User': 'admin-spoofed',
  'X-Forwarded-Prefix': '/spoofed-prefix',
})
test('Forwarded never reaches the upstream', neverReachesUpstream, { Forwarded: 'for=203.0.113.7;host=evil.example' })
test('X_Forwarded_For (underscore spelling) never reaches the upstream', neverReachesUpstream, { X_Forwarded_For: '203.0.113.8' })
test('X_Forwarded_User (underscore spelling) never reaches the upstream', neverReachesUpstream, { X_Forwarded_User: 'admin-underscore' })
test('Proxy_Authorization (underscore spelling) never reaches the upstream', neverReachesUpstream, { Proxy_Authorization: 'Basic dW5kZXJzY29yZQ==' })
test('X-Real-IP never reaches the upstream', neverReachesUpstream, { 'X-Real-IP': '203.0.113.9' })
test('Keep-Alive never reaches the upstream', neverReachesUpstream, { 'Keep-Alive': 'timeout=99, max=999' })
test('TE never reaches the upstream', neverReachesUpstream, { TE: 'trailers-spoofed' })
test('Trailer never reaches the upstream', neverReachesUpstream, { Trailer: 'X-Spoofed-Trailer' })
test('Upgrade never reaches the upstream', neverReachesUpstream, { Upgrade: 'spoofed-protocol/1' })
test('Proxy-Connection never reaches the upstream', neverReachesUpstream, { 'Proxy-Connection': 'spoofed-keep-alive' })
test("Client-IP never reaches the upstream (Rails' RemoteIp reads it)", neverReachesUpstream, { 'Client-IP': '203.0.113.10' })
test('True-Client-IP never reaches the upstream', neverReachesUpstream, { 'True-Client-IP': '203.0.113.11' })
test('X-Client-IP and X-Cluster-Client-IP never reach the upstream', neverReachesUpstream, {
  'X-Client-IP': '203.0.113.12',
  'X-Cluster-Client-IP': '203.0.113.13',
})
test('CF-Connecting-IP and Fastly-Client-IP never reach the upstream', neverReachesUpstream, {
  'CF-Connecting-IP': '203.0.113.14',
  'Fastly-Client-IP': '203.0.113.15',
})
test('X-Original-URL and X-Rewrite-URL never reach the upstream', neverReachesUpstream, {
  'X-Original-URL': '/api/3/accounts/otp',
  'X-Rewrite-URL': '/api/3/jwt/fetch',
})
test('Client_IP (underscore spelling) never reaches the upstream', neverReachesUpstream, { Client_IP: '203.0.113.16' })

// A header named in Connection would have to be deleted before forwarding; the proxy refuses the
// request instead (issue 9: a Connection that named Content-Length smuggled a second request).
test('a request whose Connection names an end-to-end header is refused and nothing reaches the upstream', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await rawRequest(
    proxy.port,
    `GET /api/3/stacks.json HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nX-Hop-Secret: hop-value-1\r\nConnection: close, X-Hop-Secret\r\n\r\n`,
  )
  t.is(reply.status, 400)
  t.is((JSON.parse(reply.body) as { error: string }).error, 'bad_request')
  t.is(sim.requests.length, 0)
})

const reachesUpstreamUnchanged = test.macro({
  async exec(t, name: string, value: string) {
    const { record } = await upstreamSees(t, { [name]: value })
    t.is(record.headers[name.toLowerCase()], value)
    t.is(namesOf(record).filter((n) => n === name.toLowerCase()).length, 1, 'sent exactly once')
  },
  title: (given, name: string) => given ?? `${name} reaches the upstream unchanged`,
})

test(reachesUpstreamUnchanged, 'X-Account', '4711')
test(reachesUpstreamUnchanged, 'Request-Id', '6f1c0a52-3f0e-4b8e-9a55-0d1c1f7e2b11')
test(reachesUpstreamUnchanged, 'Accept', 'application/json')
test(reachesUpstreamUnchanged, 'Content-Type', 'application/json')
test(reachesUpstreamUnchanged, 'User-Agent', 'cx/2.3.0 (linux; amd64)')
test(reachesUpstreamUnchanged, 'X-Activity-Id', 'activity-42')
test(reachesUpstreamUnchanged, 'X-CxToken', 'cx-dev-header')
test(reachesUpstreamUnchanged, 'Accept-Encoding', 'gzip')
test(reachesUpstreamUnchanged, 'If-None-Match', 'W/"etag-1"')

test("the upstream gets exactly one Authorization header, carrying the proxy's token", async (t) => {
  const { record } = await upstreamSees(t, { Authorization: 'Bearer caller-secret-token' })
  t.is(record.headers.authorization, `Bearer ${SIM_TOKEN}`)
  t.is(namesOf(record).filter((n) => n === 'authorization').length, 1)
  t.is(record.token, SIM_TOKEN)
})

test("a request without any Authorization still reaches the upstream with the proxy's token", async (t) => {
  const { record } = await upstreamSees(t, {})
  t.is(record.headers.authorization, `Bearer ${SIM_TOKEN}`)
})

test("Host is the upstream's, not the proxy's", async (t) => {
  const { record, simHost } = await upstreamSees(t, {})
  t.is(record.headers.host, simHost)
  t.is(namesOf(record).filter((n) => n === 'host').length, 1)
})

test('the token comes from the configured source, whatever the caller sends', async (t) => {
  const sim = await startSim(t, { tokens: { 'from-env-token': ['public'], 'caller-token': ['public'] } })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'from-env-token' } })
  const reply = await send(`${proxy.url}/stacks`, { headers: { Authorization: 'Bearer caller-token' } })
  t.is(reply.status, 200)
  const [record] = await recorded(sim, 1)
  t.is(record?.token, 'from-env-token')
})

test('all the headers of one real cx request arrive together, and the forbidden ones do not', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  // Raw bytes, so header names keep their spelling (node:http would refuse none of these, but a
  // raw request also proves nothing is added on the way in).
  const reply = await rawRequest(
    proxy.port,
    [
      'GET /api/3/stacks.json HTTP/1.1',
      `Host: 127.0.0.1:${proxy.port}`,
      'Accept: application/json',
      'Request-Id: 0b3e1d8a-1111-4c2a-9d2e-123456789abc',
      'User-Agent: cx/2.3.0 (darwin; arm64)',
      'X-Account: 99',
      'Authorization: Bearer caller-secret-token',
      'Cookie: a=b',
      'X-Forwarded-For: 198.51.100.1',
      'X_Forwarded_Host: evil.example',
      'Forwarded: for=198.51.100.1',
      'Connection: close',
      'Keep-Alive: timeout=5',
      '',
      '',
    ].join('\r\n'),
  )
  t.is(reply.status, 200)
  const [record] = await recorded(sim, 1)
  if (!record) throw new Error('no upstream request')
  t.like(record.headers, {
    accept: 'application/json',
    'request-id': '0b3e1d8a-1111-4c2a-9d2e-123456789abc',
    'user-agent': 'cx/2.3.0 (darwin; arm64)',
    'x-account': '99',
    authorization: `Bearer ${SIM_TOKEN}`,
    host: sim.url.host,
  })
  const names = namesOf(record)
  for (const gone of ['cookie', 'x-forwarded-for', 'x_forwarded_host', 'forwarded', 'keep-alive']) t.false(names.includes(gone), gone)
  t.not(record.headers.connection, 'close', "the caller's Connection header is not the upstream hop's")
})

// Rails turns a POST with a method override into that method; a deny rule on DELETE must not be
// dodged by a POST that says "really, DELETE". Overrides are refused outright (issue 9, finding 4).
for (const [name, value] of [
  ['X-HTTP-Method-Override', 'DELETE'],
  ['X-HTTP-Method', 'PATCH'],
  ['X-Method-Override', 'PUT'],
] as const) {
  test(`a request with ${name} is refused with 400 method_override and never reaches the upstream`, async (t) => {
    const sim = await startSim(t)
    const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
    const reply = await send(`${proxy.url}/stacks/abc.json`, { method: 'POST', headers: { [name]: value } })
    t.is(reply.status, 400)
    t.is((JSON.parse(reply.body.toString()) as { error: string }).error, 'method_override')
    t.is(sim.requests.length, 0)
  })
}

test('an underscore spelling of a method-override header never reaches the upstream', neverReachesUpstream, { X_HTTP_Method_Override: 'DELETE' })
