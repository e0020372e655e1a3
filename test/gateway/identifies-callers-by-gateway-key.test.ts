import { randomBytes } from 'node:crypto'
import test from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import {
  apiTokensSince,
  createKey,
  errorCode,
  gwRequest,
  loginMember,
  memberToken,
  runCurl,
  startGateway,
  startGatewaySim,
  upstreamSaw,
} from '../helpers/gateway.js'

// Every API request to the gateway must say who is calling, with a gateway key; the gateway then
// acts with that member's own Cloud 66 token, and the key never reaches Cloud 66.

const wellFormedUnknownKey = () => `c66p_${randomBytes(32).toString('base64url')}`

test('a request with no credential gets 401 unidentified with a Basic challenge, and nothing reaches Cloud 66', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const res = await gwRequest(gw, '/api/3/stacks.json')
  t.is(res.status, 401)
  t.is(errorCode(res), 'unidentified')
  t.is(res.headers['www-authenticate'], 'Basic realm="c66-proxy"')
  t.deepEqual(apiTokensSince(sim, 0), [])
})

test('a well-formed but unknown key gets 401 invalid_key', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  for (const res of [
    await gwRequest(gw, '/stacks.json', { bearer: wellFormedUnknownKey() }),
    await gwRequest(gw, '/stacks.json', { basic: ['me', wellFormedUnknownKey()] }),
  ]) {
    t.is(res.status, 401)
    t.is(errorCode(res), 'invalid_key')
    t.is(res.headers['www-authenticate'], 'Basic realm="c66-proxy"')
  }
  t.deepEqual(apiTokensSince(sim, 0), [])
})

test("a member's own Cloud 66 token presented as Bearer is not a gateway credential and is never forwarded", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  await loginMember(t, gw, sim, 1)
  const token = await memberToken(gw, 'cloud66:1')
  if (token === undefined) throw new Error('the login stored no token')
  const before = sim.requests.length
  for (const res of [await gwRequest(gw, '/stacks.json', { bearer: token }), await gwRequest(gw, '/stacks.json', { basic: ['me', token] })]) {
    t.is(res.status, 401)
    t.is(errorCode(res), 'invalid_key')
  }
  t.is(sim.requests.length, before, 'nothing reached Cloud 66')
})

test('a key reaches Cloud 66 as Bearer and as the Basic password, carrying the member token and never the key', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie, { label: 'laptop' })
  const token = await memberToken(gw, 'cloud66:1')
  const before = sim.requests.length

  const bearer = await gwRequest(gw, '/stacks.json', { bearer: key })
  const basic = await gwRequest(gw, '/api/3/stacks', { basic: ['me', key] })
  t.is(bearer.status, 200, bearer.body)
  t.is(basic.status, 200, basic.body)
  t.deepEqual(apiTokensSince(sim, before), [token, token])
  t.false(upstreamSaw(sim, key))
  t.false(upstreamSaw(sim, key.slice('c66p_'.length)))
})

test('curl with the key as the password of -u, and with the key in the URL, gets the member answer', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie, { label: 'curl' })
  const token = await memberToken(gw, 'cloud66:1')
  const before = sim.requests.length

  const withUser = await runCurl(t, ['-u', `me:${key}`, `${gw.url}/stacks.json`])
  t.is(withUser.code, 0, withUser.stderr)
  t.is(withUser.status, 200, withUser.body)
  t.truthy((JSON.parse(withUser.body) as { response?: unknown[] }).response?.length)

  const inUrl = await runCurl(t, [`https://me:${key}@127.0.0.1:${gw.port}/stacks.json`])
  t.is(inUrl.code, 0, inUrl.stderr)
  t.is(inUrl.status, 200, inUrl.body)

  t.deepEqual(apiTokensSince(sim, before), [token, token])
  t.false(upstreamSaw(sim, key))
})

test('a revoked key gets 401 invalid_key', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { id, key } = await createKey(gw, cookie)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  t.is((await gwRequest(gw, `/-/api/keys/${id}`, { method: 'DELETE', cookie, json: {} })).status, 200)
  const before = sim.requests.length
  const res = await gwRequest(gw, '/stacks.json', { bearer: key })
  t.is(res.status, 401)
  t.is(errorCode(res), 'invalid_key')
  t.is(sim.requests.length, before)
})

test('an expired key gets 401 invalid_key once its expiry has passed', async (t) => {
  const clock = new FakeClock({ start: Date.now() })
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, io: { clock } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie, { label: 'short-lived', expires: '1h' })
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  clock.advance(59 * 60_000)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200, 'still valid a minute before expiry')
  clock.advance(60_000)
  const res = await gwRequest(gw, '/stacks.json', { bearer: key })
  t.is(res.status, 401)
  t.is(errorCode(res), 'invalid_key')
})

test("two members each reach Cloud 66 with their own token, never the other's", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const adaKey = (await createKey(gw, ada.cookie, { label: 'ada' })).key
  const graceKey = (await createKey(gw, grace.cookie, { label: 'grace' })).key
  const adaToken = await memberToken(gw, 'cloud66:1')
  const graceToken = await memberToken(gw, 'cloud66:2')
  t.truthy(adaToken)
  t.truthy(graceToken)
  t.not(adaToken, graceToken)
  t.is(sim.userOf(adaToken ?? ''), 1)
  t.is(sim.userOf(graceToken ?? ''), 2)

  const before = sim.requests.length
  const order = [adaKey, graceKey, graceKey, adaKey, graceKey, adaKey]
  // Distinct targets: identical concurrent GETs of one member would share one upstream request.
  const replies = await Promise.all(order.map((key, i) => gwRequest(gw, `/api/3/echo?i=${i}`, { bearer: key, headers: { 'x-request-id': `req-${i}` } })))
  t.deepEqual(
    replies.map((r) => r.status),
    order.map(() => 200),
  )
  // Match each upstream record to the request that caused it by its request id.
  for (const [i, key] of order.entries()) {
    const record = sim.requests.slice(before).find((r) => r.headers['x-request-id'] === `req-${i}`)
    t.is(record?.token, key === adaKey ? adaToken : graceToken, `request ${i}`)
  }
})
