// Forwarding contract, part 11: each proxied request leaves one JSON log line with method, route
// template, status, duration, bytes and request id, and metric labels use the bounded route
// template (`/stacks/:id/servers`), never the raw path: ids, names and tokens must not become labels.
import test from 'ava'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, json, logLine, metricValue, metricsText, send, startSim } from '../helpers/forwarding.js'

async function firstStackUid(proxyUrl: string): Promise<string> {
  const list = json(await send(`${proxyUrl}/stacks.json`)) as { response: Array<{ uid: string }> }
  const uid = list.response[0]?.uid
  if (uid === undefined) throw new Error('the simulator has no stacks')
  return uid
}

test('a proxied request leaves one log line with method, route template, status, duration, bytes and request id', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const uid = await firstStackUid(proxy.url)
  const reply = await send(`${proxy.url}/api/3/stacks/${uid}/servers.json?page=1`, { headers: { 'request-id': 'cx-7f3a9c' } })
  t.is(reply.status, 200)
  const line = await logLine(proxy, 'the servers request', (l) => l['msg'] === 'request' && l['request_id'] === 'cx-7f3a9c')
  t.like(line, { method: 'GET', route: '/stacks/:id/servers', status: 200, bytes_out: reply.body.length, outcome: 'ok' })
  t.is(typeof line['duration_ms'], 'number')
  t.true((line['duration_ms'] as number) >= 0)
  t.is(proxy.logs.filter((l) => l.includes('"cx-7f3a9c"')).length, 1, 'exactly one line for the request')
  const text = proxy.logs.join('\n')
  t.false(text.includes(uid), 'the raw stack id is not logged')
  t.false(text.includes(SIM_TOKEN), 'the token is not logged')
  t.false(text.includes('page=1'), 'the query is not logged')
})

test('a request with a body logs the bytes it sent and received', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const body = 'x'.repeat(1234)
  const reply = await send(`${proxy.url}/api/3/echo`, { method: 'PUT', body, headers: { 'request-id': 'echo-1', 'content-type': 'text/plain' } })
  t.is(reply.status, 200)
  const line = await logLine(proxy, 'the echo request', (l) => l['msg'] === 'request' && l['request_id'] === 'echo-1')
  t.like(line, { method: 'PUT', route: 'other', status: 200, bytes_in: 1234, bytes_out: 1234 })
})

test('a HEAD request logs no body bytes sent, whatever Content-Length the answer declares', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`${proxy.url}/api/3/stacks.json`, { method: 'HEAD', headers: { 'request-id': 'head-1' } })
  t.is(reply.status, 200)
  t.is(reply.body.length, 0)
  const line = await logLine(proxy, 'the HEAD request', (l) => l['msg'] === 'request' && l['request_id'] === 'head-1')
  t.like(line, { method: 'HEAD', route: '/stacks', status: 200, bytes_out: 0, outcome: 'ok' })
})

test('a request without an id of its own is logged under a generated one', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  const line = await logLine(proxy, 'the stacks request', (l) => l['msg'] === 'request' && l['route'] === '/stacks')
  t.regex(String(line['request_id']), /^[0-9a-f-]{36}$/)
})

test('an upstream error status is logged with the route template and that status', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is((await send(`${proxy.url}/stacks/nope-123/deployments/456.json`, { headers: { 'request-id': 'missing-1' } })).status, 404)
  const line = await logLine(proxy, 'the 404', (l) => l['msg'] === 'request' && l['request_id'] === 'missing-1')
  t.like(line, { method: 'GET', route: '/stacks/:id/deployments/:id', status: 404 })
})

const labelledAs = test.macro({
  async exec(t, path: string, route: string) {
    const sim = await startSim(t)
    const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
    const reply = await send(`${proxy.url}${path}`)
    const metrics = await metricsText(proxy)
    t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route, status: String(reply.status) }), 1)
    t.true(metricValue(metrics, 'c66_proxy_request_duration_seconds_count', { route }) >= 1)
    const routes = new Set([...metrics.matchAll(/route="([^"]*)"/g)].map((m) => m[1]))
    for (const label of routes) t.true(label === 'other' || label?.startsWith('/'), `route label "${label}"`)
    t.false(routes.has(path.split('?')[0]), 'the raw path is not a label')
    // Every id-like piece of the path (anything that is not a literal of the template) stays out.
    const literals = new Set(route.split('/'))
    for (const segment of path.split(/[/?=&.]/).filter((s) => s.length >= 6 && !literals.has(s))) {
      t.false(metrics.includes(segment), `"${segment}" from the path appears in the metrics`)
    }
  },
  title: (_given, path: string, route: string) => `GET ${path} is counted under the route label ${route}`,
})

test(labelledAs, '/api/3/stacks/4f1e2d3c4b5a69788796a5b4c3d2e1f0/servers.json', '/stacks/:id/servers')
test(labelledAs, '/stacks/4f1e2d3c4b5a69788796a5b4c3d2e1f0/servers/9a8b7c6d5e4f/settings', '/stacks/:id/servers/:id/settings')
test(labelledAs, '/stacks/4f1e2d3c4b5a69788796a5b4c3d2e1f0/environments/DATABASE_PASSWORD.json', '/stacks/:id/environments/:id')
test(labelledAs, '/stacks/4f1e2d3c4b5a69788796a5b4c3d2e1f0/environments/bulk.json', '/stacks/:id/environments/bulk')
test(labelledAs, '/api/3/accounts/otp.json', '/accounts/otp')
test(labelledAs, '/api/3/stacks.json?filter_name=customer-secret-name', '/stacks')
test(labelledAs, '/stacks/4f1e2d3c4b5a69788796a5b4c3d2e1f0/no-such-thing/abcdef123456', 'other')
test(labelledAs, '/api/3/ghp_canaryTokenLookingSegment123456', 'other')

test('many different ids produce one route series, not one per id', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  for (let i = 0; i < 12; i++) t.is((await send(`${proxy.url}/stacks/stack-${i}-uid/servers.json`)).status, 404)
  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route: '/stacks/:id/servers', status: '404' }), 12)
  t.is(metrics.split('\n').filter((l) => l.startsWith('c66_proxy_requests_total{') && l.includes('/stacks/:id/servers')).length, 1)
})

test('an unusual method is counted under a fixed method label', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const reply = await send(`${proxy.url}/api/3/echo`, { method: 'PROPFIND' })
  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'other', status: String(reply.status) }), 1)
  t.false(metrics.includes('PROPFIND'))
})
