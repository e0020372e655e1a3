// Browsers ask every origin for /favicon.ico. Forwarded, it went to Cloud 66 as
// /api/3/favicon.ico with the user's token: a 404, and a request off the user's hourly budget.
import test from 'ava'
import { logLine, metricValue, metricsText, send, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-http.js'

test('/favicon.ico is answered by the proxy with 204, cacheable, and never reaches Cloud 66', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' } })
  const reply = await send(`${proxy.url}/favicon.ico`, { headers: { 'request-id': 'icon-1' } })
  t.is(reply.status, 204)
  t.is(reply.body.length, 0)
  t.regex(String(reply.headers['cache-control']), /max-age=\d+/)
  t.is(sim.requests.length, 0, 'nothing was forwarded')
  t.like(await logLine(proxy, 'the favicon request', (l) => l['request_id'] === 'icon-1'), { route: '/favicon.ico', status: 204 })
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_token_lookups_total'), 0, 'no token was looked up')
  // The API's own paths still go to Cloud 66.
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is(sim.requests.length, 1)
})

test('/favicon.ico needs no token, but passes the same Host guard as everything else', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url })
  t.is((await send(`${proxy.url}/favicon.ico?v=2`)).status, 204, 'not 401 no_token')
  const foreign = await rawRequest(proxy.port, `GET /favicon.ico HTTP/1.1\r\nHost: rebind.example:${proxy.port}\r\nConnection: close\r\n\r\n`)
  t.is(foreign.status, 403)
  t.is(sim.requests.length, 0)
})
