// A request the proxy refuses before forwarding (a foreign Host or Origin, a deny rule) is still
// labelled with the route it asked for in its log line and in c66_proxy_requests_total: someone
// looking for what was refused needs to see that it was /stacks, not "other". A path the guards
// refuse as malformed stays "other": such a path is not what Cloud 66 would route.
import test from 'ava'
import { SIM_TOKEN, logLine, metricValue, metricsText, send, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-http.js'

const rawGet = (port: number, target: string, headers: string) => rawRequest(port, `GET ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`)

test('a request refused for its Host, its Origin or a deny rule keeps its route label in the log and the metrics', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, flags: { denyPaths: ['/stacks/*/servers'] } })
  const host = `Host: 127.0.0.1:${proxy.port}\r\n`

  t.is((await rawGet(proxy.port, '/stacks.json', `Host: rebind.example:${proxy.port}\r\nRequest-Id: host-1\r\n`)).status, 403)
  t.like(await logLine(proxy, 'the refused Host', (l) => l['request_id'] === 'host-1'), { route: '/stacks', status: 403 })

  t.is((await rawGet(proxy.port, '/api/3/stacks/abc/deployments.json', `${host}Origin: https://evil.example\r\nRequest-Id: origin-1\r\n`)).status, 403)
  t.like(await logLine(proxy, 'the refused Origin', (l) => l['request_id'] === 'origin-1'), { route: '/stacks/:id/deployments', status: 403 })

  t.is((await rawGet(proxy.port, '/stacks/abc/servers', `${host}Request-Id: deny-1\r\n`)).status, 403)
  t.like(await logLine(proxy, 'the denied path', (l) => l['request_id'] === 'deny-1'), { route: '/stacks/:id/servers', status: 403 })

  t.is((await rawGet(proxy.port, '/-/metrics', `Host: rebind.example:${proxy.port}\r\nRequest-Id: own-1\r\n`)).status, 403)
  t.like(await logLine(proxy, 'the refused own page', (l) => l['request_id'] === 'own-1'), { route: '/-/metrics', status: 403 })

  t.is((await rawGet(proxy.port, '/stacks/../accounts/otp', `${host}Request-Id: dots-1\r\n`)).status, 400)
  t.like(await logLine(proxy, 'the malformed path', (l) => l['request_id'] === 'dots-1'), { route: 'other', status: 400 })

  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route: '/stacks', status: '403' }), 1)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route: '/stacks/:id/deployments', status: '403' }), 1)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route: '/-/metrics', status: '403' }), 1)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route: 'other', status: '400' }), 1)
  t.false(metrics.includes('abc'), 'no raw id becomes a label')
  t.is(sim.requests.length, 0)
  // The same request allowed through is labelled the same way.
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_requests_total', { method: 'GET', route: '/stacks', status: '200' }), 1)
})
