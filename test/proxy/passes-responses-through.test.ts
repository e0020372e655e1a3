// Forwarding contract, part 4: what the caller gets back. Status, headers and body as Cloud 66
// sent them, minus its session cookie; a Location on the upstream's own origin is rewritten to the
// proxy, any other (a presigned S3 URL) is left alone; redirects are never followed, so the token
// never travels to a host other than the configured upstream.
import test from 'ava'
import http from 'node:http'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, listenForTest, recorded, send, startSim } from '../helpers/forwarding.js'

/** Response headers that differ on every answer and so cannot be compared across two requests. */
const PER_ANSWER = new Set(['date', 'x-request-id', 'set-cookie', 'connection', 'keep-alive'])

test('status, headers and body of a Cloud 66 answer reach the caller as the upstream sent them', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const direct = await send(new URL('/api/3/stacks.json?page=2', sim.url), { headers: { authorization: `Bearer ${SIM_TOKEN}` } })
  const proxied = await send(`${proxy.url}/stacks.json?page=2`)
  t.is(proxied.status, direct.status)
  t.is(proxied.statusMessage, direct.statusMessage)
  t.true(proxied.body.equals(direct.body), 'the body is byte-identical')
  // The proxy replaces the upstream's framing and sniffing policy with its own (issue 14): the
  // answer is served from the proxy's origin and must not run there.
  const REPLACED = new Set(['content-security-policy', 'x-frame-options', 'x-content-type-options'])
  const comparable = (headers: http.IncomingHttpHeaders) =>
    Object.fromEntries(Object.entries(headers).filter(([k]) => !PER_ANSWER.has(k) && !REPLACED.has(k) && k !== 'x-ratelimit-remaining'))
  t.deepEqual(comparable(proxied.headers), comparable(direct.headers))
  t.like(proxied.headers, { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' })
  t.regex(String(proxied.headers['content-security-policy']), /^sandbox;/)
  t.truthy(proxied.headers['x-request-id'], "Cloud 66's own request id reaches the caller")
  t.truthy(proxied.headers['x-ratelimit-limit'])
})

test('an unusual status and its reason phrase reach the caller unchanged', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const teapot = await send(`${proxy.url}/status/418`)
  t.is(teapot.status, 418)
  t.is(teapot.statusMessage, "I'm a Teapot")
  t.deepEqual(JSON.parse(teapot.body.toString()), { error: 'i_m_a_teapot', error_description: "Simulated 418 I'm a Teapot" })
  const accepted = await send(`${proxy.url}/status/202`)
  t.is(accepted.status, 202)
  t.deepEqual(JSON.parse(accepted.body.toString()), { response: { ok: true, status: 202 } })
  const noContent = await send(`${proxy.url}/status/204`)
  t.is(noContent.status, 204)
  t.is(noContent.body.length, 0)
})

test("Cloud 66's session cookie is dropped and never reaches the caller", async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const direct = await send(new URL('/api/3/stacks.json', sim.url), { headers: { authorization: `Bearer ${SIM_TOKEN}` } })
  t.truthy(direct.headers['set-cookie'], 'the upstream does set a cookie')
  const proxied = await send(`${proxy.url}/stacks.json`)
  t.is(proxied.status, 200)
  t.is(proxied.headers['set-cookie'], undefined)
  t.false(proxied.rawHeaders.some((h) => h.toLowerCase() === 'set-cookie' || h.includes('_cloud66_session')))
})

test("a Location on the upstream origin is rewritten to the proxy's own origin, and not followed", async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`${proxy.url}/api/3/redirect/self`)
  t.is(reply.status, 302)
  t.is(reply.headers.location, `${proxy.url}/api/3/stacks.json`)
  const requests = await recorded(sim, 1)
  t.deepEqual(
    requests.map((r) => r.url),
    ['/api/3/redirect/self'],
    'the proxy did not follow the redirect',
  )
  // The rewritten Location leads back through the proxy and works.
  const followed = await send(reply.headers.location ?? '')
  t.is(followed.status, 200)
  t.is((await recorded(sim, 2))[1]?.url, '/api/3/stacks.json')
})

test('the rewritten Location uses the Host the caller addressed the proxy by', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`http://localhost:${proxy.port}/redirect/self`)
  t.is(reply.status, 302)
  t.is(reply.headers.location, `http://localhost:${proxy.port}/api/3/stacks.json`)
})

test('an S3 Location is passed on untouched and the S3 host never gets a request or the token', async (t) => {
  const s3Requests: http.IncomingHttpHeaders[] = []
  const s3 = await listenForTest(
    t,
    http.createServer((req, res) => {
      s3Requests.push(req.headers)
      res.end('s3 object')
    }),
  )
  const s3Origin = `http://127.0.0.1:${s3.port}`
  const sim = await startSim(t, { s3Origin })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`${proxy.url}/api/3/redirect/s3`)
  t.is(reply.status, 302)
  t.is(reply.headers.location, `${s3Origin}/backups/db.tar.gz?X-Amz-Signature=abc`)
  t.deepEqual(
    (await recorded(sim, 1)).map((r) => r.url),
    ['/api/3/redirect/s3'],
  )
  t.is(s3Requests.length, 0, 'the proxy did not follow the redirect to S3')
  t.is(s3.sockets.size, 0, 'the proxy did not even connect to the S3 host')
})

test("a Location is rewritten exactly when its origin is the upstream's, however spelled, and look-alike hosts are left alone", async (t) => {
  // The upstream here is a tiny server that redirects wherever the test asks.
  const upstream = await listenForTest(
    t,
    http.createServer((req, res) => {
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/'
      res.writeHead(302, { location: to.replace('ORIGIN', `http://127.0.0.1:${upstreamPort()}`) })
      res.end()
    }),
  )
  const upstreamPort = () => upstream.port
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${upstream.port}`, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const cases: Array<[string, string]> = [
    ['ORIGIN/api/3/stacks', `${proxy.url}/api/3/stacks`],
    ['ORIGIN', proxy.url],
    ['ORIGIN?page=2', `${proxy.url}?page=2`],
    // Same origin, spelled differently: still the upstream, and the rest stays byte for byte.
    [`HTTP://127.0.0.1:${upstream.port}/api/3/x?Signature=a%252Fb|c`, `${proxy.url}/api/3/x?Signature=a%252Fb|c`],
    [`http://user@127.0.0.1:${upstream.port}/api/3/x`, `${proxy.url}/api/3/x`],
    [`http://127.0.0.1:${upstream.port}\\@evil.example/`, `${proxy.url}\\@evil.example/`],
    ['ORIGIN0/api/3/stacks', `http://127.0.0.1:${upstream.port}0/api/3/stacks`],
    ['ORIGIN.evil.example/api/3/stacks', `http://127.0.0.1:${upstream.port}.evil.example/api/3/stacks`],
    ['ORIGIN@evil.example/x', `http://127.0.0.1:${upstream.port}@evil.example/x`],
    ['https://c66-sim-bucket.s3.amazonaws.com/x?Signature=a%252Fb', 'https://c66-sim-bucket.s3.amazonaws.com/x?Signature=a%252Fb'],
    ['/api/3/relative', '/api/3/relative'],
  ]
  for (const [given, expected] of cases) {
    const reply = await send(`${proxy.url}/redirect?to=${encodeURIComponent(given)}`)
    t.is(reply.status, 302)
    t.is(reply.headers.location, expected, given)
  }
})

test('a Cloud 66 body that carries absolute URLs is passed on without rewriting', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`${proxy.url}/api/3/redirect/self`)
  // The body names the upstream origin; only the Location header is the proxy's business.
  t.deepEqual(JSON.parse(reply.body.toString()), { response: { ok: true, location: `${sim.url.origin}/api/3/stacks.json` } })
})

test("hop-by-hop response headers and headers named in the upstream's Connection never reach the caller", async (t) => {
  const upstream = await listenForTest(
    t,
    http.createServer((_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, X-Upstream-Hop',
        'keep-alive': 'timeout=60',
        'x-upstream-hop': 'secret-hop-value',
        'proxy-authenticate': 'Basic realm="upstream"',
        'x-cloud66-warning': 'this token will be revoked soon',
        'content-type': 'application/json',
        'content-length': '2',
      })
      res.end('{}')
    }),
  )
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${upstream.port}`, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`${proxy.url}/stacks`)
  t.is(reply.status, 200)
  t.is(reply.headers['x-upstream-hop'], undefined)
  t.is(reply.headers['keep-alive'], undefined)
  t.is(reply.headers['proxy-authenticate'], undefined)
  t.is(reply.headers['x-cloud66-warning'], 'this token will be revoked soon', 'end-to-end headers still pass')
  t.is(reply.body.toString(), '{}')
})
