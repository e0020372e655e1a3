// Issue 13: Cloud 66 allows 3,000 requests per user per hour and answers the rest with 503
// throttled until the next hourly interval. The proxy counts what it sends per user, shows it
// wherever a user looks (/-/, /-/budget, status, metrics; on a gateway the member's page, its API
// and `members list`), and answers a spent budget itself with 429 budget_exhausted instead of
// sending requests that can only earn a 503. The proxy's and the simulator's clock is the test's.
import test from 'ava'
import { metricValue, metricsText, send, SIM_TOKEN, startSim } from '../helpers/forwarding.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startProxy } from '../helpers/proxy.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { spawnProxy } from '../helpers/spawned-proxy.js'
import { createKey, gwRequest, loginMember, startGateway, startGatewaySim } from '../helpers/gateway.js'

const T = Date.UTC(2026, 11, 6, 10, 59, 30) // 10:59:30 UTC: the window ends in 30 s
const apiCalls = (sim: { requests: ReadonlyArray<{ url: string }> }) => sim.requests.filter((r) => r.url.startsWith('/api/3/')).length

interface BudgetJson {
  used: number
  budget: number | null
  remaining: number | null
  window_end: string
  cloud66: { limit: number | null; remaining: number } | null
  refusing: { why: string; until: string } | null
}

test('a spent --upstream-budget is answered locally with 429 budget_exhausted and Retry-After to the end of the clock hour; the next hour goes through', async (t) => {
  const clock = new FakeClock({ start: T })
  const sim = await startSim(t, { clock })
  const proxy = await startProxy(t, { upstream: sim.url, flags: { upstreamBudget: '3/h' }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, io: { clock } })
  for (let i = 0; i < 3; i++) t.is((await send(`${proxy.url}/stacks.json?i=${i}`)).status, 200)
  const refused = await send(`${proxy.url}/stacks.json?i=3`)
  t.is(refused.status, 429)
  t.is(refused.headers['retry-after'], '30')
  const body = JSON.parse(refused.body.toString()) as { error: string; message: string }
  t.is(body.error, 'budget_exhausted')
  t.regex(body.message, /until 11:00 UTC/)
  t.is(apiCalls(sim), 3, 'nothing more reached Cloud 66')

  const view = JSON.parse((await send(`${proxy.url}/-/budget`)).body.toString()) as BudgetJson
  t.like(view, { used: 3, budget: 3, remaining: 0, window_end: '2026-12-06T11:00:00.000Z', refusing: { why: 'spent', until: '2026-12-06T11:00:00.000Z' } })
  t.is(view.cloud66?.remaining, 2997, "Cloud 66's own count, as a hint")
  const page = (await send(`${proxy.url}/-/`)).body.toString()
  t.regex(page, /id="budget">Cloud 66 budget: 3 of 3 used this hour \(until 11:00 UTC\), 0 left/)
  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_upstream_budget_used'), 3)
  t.is(metricValue(metrics, 'c66_proxy_upstream_budget_remaining'), 0)
  t.is(metricValue(metrics, 'c66_proxy_requests_total', { method: 'GET', route: '/stacks', status: '429' }), 1)

  clock.advance(30_000) // 11:00:00
  t.is((await send(`${proxy.url}/stacks.json?i=4`)).status, 200)
  t.like(JSON.parse((await send(`${proxy.url}/-/budget`)).body.toString()) as BudgetJson, { used: 1, refusing: null })
})

test("Cloud 66's X-RateLimit-Remaining: 0 stops requests before the configured budget", async (t) => {
  const sim = await startSim(t, { budgetPerToken: 2 })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is((await send(`${proxy.url}/accounts.json`)).status, 200)
  const third = await send(`${proxy.url}/stacks.json?page=2`)
  t.is(third.status, 429)
  t.is((JSON.parse(third.body.toString()) as { error: string }).error, 'budget_exhausted')
  t.is(apiCalls(sim), 2)
  const view = JSON.parse((await send(`${proxy.url}/-/budget`)).body.toString()) as BudgetJson
  t.like(view, { used: 2, budget: 3000, remaining: 0, cloud66: { limit: 2, remaining: 0 }, refusing: { why: 'spent' } })
})

test("`status` and `status --json` show the running proxy's budget; with no proxy running they say so", async (t) => {
  const sim = await startSim(t)
  const running = await spawnProxy(t, sim.url, [], { CLOUD66_ACCESS_TOKEN: SIM_TOKEN })
  for (let i = 0; i < 4; i++) await send(`${running.url}/stacks.json?i=${i}`)
  const env = cleanEnv({ CLOUD66_ACCESS_TOKEN: SIM_TOKEN })
  const json = await runCli(['status', '--json', '--listen', `127.0.0.1:${running.port}`, '--upstream', sim.url.origin], env)
  t.is(json.code, 0, json.stderr)
  const out = JSON.parse(json.stdout) as { running: boolean; budget: BudgetJson | null }
  t.true(out.running)
  t.like(out.budget, { used: 4, budget: 3000, remaining: 2996, refusing: null })
  const text = await runCli(['status', '--listen', `127.0.0.1:${running.port}`, '--upstream', sim.url.origin], env)
  t.regex(text.stdout, /^budget: {4}4 of 3000 used this hour \(until \d\d:00 UTC\), 2996 left \(Cloud 66 says 2996 left\)$/m)

  const none = await runCli(['status', '--json', '--listen', '127.0.0.1:9', '--upstream', sim.url.origin], env)
  t.is((JSON.parse(none.stdout) as { budget: unknown }).budget, null)
})

test('on a gateway each member has their own budget, shown on their page, in /-/api/me, /-/api/members and `members list --json`', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { upstreamBudget: '4/h', admins: ['cloud66:1'] } })
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const adaKey = (await createKey(gw, ada.cookie, { label: 'ada' })).key
  const graceKey = (await createKey(gw, grace.cookie, { label: 'grace' })).key
  for (let i = 0; i < 4; i++) t.is((await gwRequest(gw, `/stacks.json?i=${i}`, { bearer: adaKey })).status, 200)
  t.is((await gwRequest(gw, '/stacks.json?i=4', { bearer: adaKey })).status, 429, "ada's budget is spent")
  t.is((await gwRequest(gw, '/stacks.json?i=4', { bearer: graceKey })).status, 200, "grace's is her own")

  const me = JSON.parse((await gwRequest(gw, '/-/api/me', { cookie: ada.cookie })).body) as { budget: BudgetJson }
  t.like(me.budget, { used: 4, budget: 4, remaining: 0, refusing: { why: 'spent' } })
  const members = JSON.parse((await gwRequest(gw, '/-/api/members', { cookie: ada.cookie })).body) as Array<{ id: string; budget: BudgetJson }>
  t.deepEqual(
    members.map((m) => [m.id, m.budget.used]),
    [
      ['cloud66:1', 4],
      ['cloud66:2', 1],
    ],
  )
  const page = (await gwRequest(gw, '/-/', { cookie: grace.cookie })).body
  t.regex(page, /id="budget">Cloud 66 budget: 1 of 4 used this hour/)

  // The CLI reads what the replicas wrote to the shared store (every 10 s, and at shutdown).
  await gw.app.close()
  const listed = await runCli(['members', 'list', '--json', ...gw.cliArgs], gw.cliEnv({ C66_PROXY_MODE: 'gateway', C66_PROXY_UPSTREAM_BUDGET: '4/h' }))
  t.is(listed.code, 0, listed.stderr)
  const rows = JSON.parse(listed.stdout) as Array<{ id: string; budget: BudgetJson }>
  t.deepEqual(
    rows.map((r) => [r.id, r.budget.used, r.budget.remaining]),
    [
      ['cloud66:1', 4, 0],
      ['cloud66:2', 1, 3],
    ],
  )
  const metrics = await gw.app.metrics.registry.metrics()
  t.regex(metrics, /c66_proxy_upstream_budget_used\{member="cloud66:1"\} 4/)
})

test('on a gateway identical concurrent GETs of two members are never shared: each reaches Cloud 66 with its own token', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const keys = [(await createKey(gw, ada.cookie, { label: 'a' })).key, (await createKey(gw, grace.cookie, { label: 'g' })).key]
  const before = sim.requests.length
  const order = [0, 1, 0, 1, 1, 0, 0, 1]
  const sending = Promise.all(order.map((who) => gwRequest(gw, '/api/3/gate/members', { bearer: keys[who] ?? '' })))
  // The answers wait until all eight are being handled: each had the chance to share.
  const deadline = Date.now() + 15_000
  while (gw.app.metrics.inFlightRequests.count < order.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 150))
  sim.openGate('members')
  const replies = await sending
  t.true(replies.every((r) => r.status === 200))
  const users = sim.requests
    .slice(before)
    .map((r) => sim.userOf(r.token ?? ''))
    .sort()
  t.deepEqual(users, [1, 2], 'one request per member, each with its own token')
})
