// Forwarding contract, part 5: Cloud 66's own errors are Cloud 66's answer, not the proxy's. A
// Doorkeeper 401 (empty body, WWW-Authenticate), a missing-scope 403 (empty body), a JSON 404 and
// `503 throttled` reach the caller untouched (clients such as cx parse them), and throttling is
// counted in c66_proxy_upstream_throttled_total.
import test from 'ava'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, metricValue, metricsText, recorded, send, startSim } from '../helpers/forwarding.js'

test('a 401 for a token Cloud 66 does not know reaches the caller with its empty body and WWW-Authenticate', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'unknown-to-cloud66' } })
  const direct = await send(new URL('/api/3/stacks.json', sim.url), { headers: { authorization: 'Bearer unknown-to-cloud66' } })
  const reply = await send(`${proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  t.is(reply.body.length, 0, 'the body stays empty: no proxy error JSON is put in its place')
  t.is(reply.headers['www-authenticate'], direct.headers['www-authenticate'])
  t.regex(reply.headers['www-authenticate'] ?? '', /^Bearer realm="Doorkeeper", error="invalid_token"/)
  t.is(reply.headers['content-length'], '0')
  t.is(reply.headers['content-type'], 'text/html')
  t.is(reply.headers['cache-control'], 'no-store')
  t.is((await recorded(sim, 2))[1]?.token, 'unknown-to-cloud66', 'the proxy sent its configured token')
})

test('a 401 for a revoked token says so, as Cloud 66 said it', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  sim.revokeToken(SIM_TOKEN)
  const reply = await send(`${proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  t.is(reply.body.length, 0)
  t.regex(reply.headers['www-authenticate'] ?? '', /error_description="The access token was revoked"/)
})

test('a 403 for a missing scope reaches the caller with its empty body and no WWW-Authenticate', async (t) => {
  const sim = await startSim(t, { tokens: { 'public-only': ['public'] } })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'public-only' } })
  const stacks = JSON.parse((await send(`${proxy.url}/stacks.json`)).body.toString()) as { response: Array<{ uid: string }> }
  const uid = stacks.response[0]?.uid ?? ''
  const reply = await send(`${proxy.url}/stacks/${uid}/deployments.json`, {
    method: 'POST',
    body: 'git_ref=main',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.is(reply.status, 403)
  t.is(reply.body.length, 0)
  t.is(reply.headers['www-authenticate'], undefined)
  t.is(reply.headers['content-type'], 'text/html')
})

test('a JSON 404 from Cloud 66 reaches the caller byte for byte, not as a proxy error', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const direct = await send(new URL('/api/3/stacks/no-such-stack.json', sim.url), { headers: { authorization: `Bearer ${SIM_TOKEN}` } })
  const reply = await send(`${proxy.url}/stacks/no-such-stack.json`)
  t.is(reply.status, 404)
  t.true(reply.body.equals(direct.body))
  t.deepEqual(JSON.parse(reply.body.toString()), { error: 'not_found', error_description: 'Stack not found' })
  t.is(reply.headers['content-type'], 'application/json; charset=utf-8')
})

test('Cloud 66 error statuses with their JSON bodies pass through untouched', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  for (const [status, error] of [
    [400, 'bad_request'],
    [402, 'trial_expired'],
    [408, 'time_out'],
    [409, 'conflict'],
    [500, 'internal_server_error'],
    [502, 'bad_gateway'],
    [504, 'gateway_timeout'],
  ] as const) {
    const reply = await send(`${proxy.url}/status/${status}`)
    t.is(reply.status, status)
    const body = JSON.parse(reply.body.toString()) as Record<string, unknown>
    t.is(body['error'], error)
    t.false('request_id' in body, `the ${status} is Cloud 66's, not one the proxy made up`)
  }
})

test("Cloud 66's 503 throttled reaches the caller as 429 with its body and a Retry-After, is counted, and is not sent again", async (t) => {
  const sim = await startSim(t, { budgetPerToken: 2 })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_throttled_total'), 0)
  // Another tool of the same user spends the budget at Cloud 66 directly.
  for (let i = 0; i < 2; i++) t.is((await send(`${sim.url.origin}/api/3/stacks.json`, { headers: { authorization: `Bearer ${SIM_TOKEN}` } })).status, 200)
  const throttled = await send(`${proxy.url}/stacks.json`)
  t.is(throttled.status, 429)
  t.deepEqual(JSON.parse(throttled.body.toString()), {
    error: 'throttled',
    error_description: 'Rate limit exceeded. Retry in the next hourly interval.',
  })
  t.is(throttled.headers['x-ratelimit-remaining'], '0')
  t.regex(String(throttled.headers['retry-after']), /^\d+$/)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_throttled_total'), 1)
  // Held: the next one is answered by the proxy (budget-book.ts), not sent to earn another 503.
  const held = await send(`${proxy.url}/stacks.json`)
  t.is(held.status, 429)
  t.is((JSON.parse(held.body.toString()) as { error: string }).error, 'budget_exhausted')
  t.is((await recorded(sim, 3)).length, 3, 'the proxy did not retry throttled requests on its own')
})

test('a 401 from Cloud 66 is counted as passed through, and the caller sees no proxy error', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'unknown-to-cloud66' } })
  const reply = await send(`${proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  t.is(reply.body.length, 0)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_401_total', { action: 'passed_through' }), 1)
  t.is((await recorded(sim, 1)).length, 1, 'the token did not change, so the request was not sent again')
})
