import test, { type ExecutionContext } from 'ava'
import { apiTokensSince, createKey, errorCode, gwRequest, loginMember, memberToken, startGateway, startGatewaySim, type GwReply } from '../helpers/gateway.js'

// Each member has a request budget (--member-rate COUNT/UNIT) below Cloud 66's 3,000 per user
// per hour; only API requests count. Over it, and when Cloud 66 itself answers `503 throttled`,
// the caller gets 429 with a Retry-After in whole seconds.

function retryAfter(t: ExecutionContext, res: GwReply, atMost: number): number {
  const header = res.headers['retry-after']
  t.regex(header ?? '', /^\d+$/, `Retry-After: ${header}`)
  const seconds = Number(header)
  t.true(seconds > 0 && seconds <= atMost, `Retry-After: ${header}`)
  return seconds
}

test('with --member-rate 5/m the sixth API request of a member gets 429 with Retry-After and never reaches Cloud 66', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { memberRate: '5/m' } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie)
  const before = sim.requests.length
  for (let i = 1; i <= 5; i += 1) t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200, `request ${i}`)
  const sixth = await gwRequest(gw, '/stacks.json', { bearer: key })
  t.is(sixth.status, 429, sixth.body)
  t.is(errorCode(sixth), 'rate_limited')
  retryAfter(t, sixth, 60)
  t.is(apiTokensSince(sim, before).length, 5)
})

test("one member's budget covers all of their keys, and leaves another member's untouched", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { memberRate: '5/m' } })
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const adaKeys = [(await createKey(gw, ada.cookie, { label: 'a' })).key, (await createKey(gw, ada.cookie, { label: 'b' })).key]
  const graceKey = (await createKey(gw, grace.cookie)).key
  for (let i = 0; i < 5; i += 1) t.is((await gwRequest(gw, '/api/3/stacks', { bearer: adaKeys[i % 2] ?? '' })).status, 200)
  t.is((await gwRequest(gw, '/api/3/stacks', { bearer: adaKeys[0] ?? '' })).status, 429)
  t.is((await gwRequest(gw, '/api/3/stacks', { bearer: adaKeys[1] ?? '' })).status, 429)
  const before = sim.requests.length
  for (let i = 0; i < 5; i += 1) t.is((await gwRequest(gw, '/api/3/stacks', { bearer: graceKey })).status, 200, `grace ${i + 1}`)
  t.deepEqual(apiTokensSince(sim, before), Array(5).fill(await memberToken(gw, 'cloud66:2')))
})

test("the gateway's own endpoints do not count against a member's budget", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { memberRate: '5/m' } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie)
  for (let i = 0; i < 4; i += 1) {
    t.is((await gwRequest(gw, '/-/healthz', { bearer: key })).status, 200)
    t.is((await gwRequest(gw, '/-/api/keys', { cookie })).status, 200)
    t.is((await gwRequest(gw, '/-/api/me', { cookie })).status, 200)
    t.is((await gwRequest(gw, '/-/', { cookie })).status, 200)
  }
  t.is((await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'another' } })).status, 201)
  for (let i = 1; i <= 5; i += 1) t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200, `API request ${i}`)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 429)
})

test("the default member rate stays below Cloud 66's 3,000 requests per hour", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const rate = gw.config.gateway.memberRate
  t.true((rate.points * 3_600) / rate.durationSeconds < 3_000, rate.text)
})

test("Cloud 66's 503 throttled reaches the caller as 429 with a Retry-After", async (t) => {
  const sim = await startGatewaySim(t, { budgetPerToken: 2 })
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie)
  // The member's other tools spend the budget at Cloud 66 directly.
  const token = (await memberToken(gw, 'cloud66:1')) ?? ''
  for (let i = 0; i < 2; i++) await fetch(`${sim.url.origin}/api/3/stacks.json`, { headers: { authorization: `Bearer ${token}` } })
  const before = sim.requests.length
  const third = await gwRequest(gw, '/stacks.json', { bearer: key })
  t.is(sim.requests.length, before + 1, 'this one did reach Cloud 66')
  t.is(third.status, 429, third.body)
  retryAfter(t, third, 3_600)
  t.regex(third.body, /throttled/)
})

test('once Cloud 66 says nothing is left, the next request is answered by the gateway without reaching Cloud 66', async (t) => {
  const sim = await startGatewaySim(t, { budgetPerToken: 2 })
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200, 'Cloud 66 answers X-RateLimit-Remaining: 0')
  const before = sim.requests.length
  const third = await gwRequest(gw, '/stacks.json', { bearer: key })
  t.is(sim.requests.length, before, 'nothing reached Cloud 66')
  t.is(third.status, 429, third.body)
  t.is(errorCode(third), 'budget_exhausted')
  retryAfter(t, third, 3_600)
})

test('any other 503 from Cloud 66 stays a 503', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie)
  const res = await gwRequest(gw, '/api/3/status/503', { bearer: key })
  t.is(res.status, 503, res.body)
  t.is(res.headers['retry-after'], undefined)
})
