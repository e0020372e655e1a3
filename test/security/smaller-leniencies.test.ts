import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'
import { createKey, errorCode, gwRequest, loginMember, memberToken, startGateway, startGatewaySim } from '../helpers/gateway.js'
import { startOAuthProxy } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'

// Issue 9, finding 5: the smaller leniencies, each refused now. (Client-IP, True-Client-IP,
// X-Original-URL and X-Rewrite-URL are dropped before Cloud 66: test/proxy/forwards-request-headers.)

test('finding 5: a second Host header is refused with 400, even when the first one is valid', async (t) => {
  const stack = await startGuardedStack(t)
  for (const second of ['evil.example', `127.0.0.1:${stack.port}`]) {
    const res = await send(stack.port, { target: '/api/3/stacks', headers: [['Host', second]] })
    assertProxyError(t, res, 400, 'bad_request')
  }
  assertUpstreamUntouched(t, stack)
})

test('finding 5: Sec-Fetch-Site is compared case-insensitively, and anything but one known same-origin token is refused', async (t) => {
  const stack = await startGuardedStack(t)
  for (const value of ['Cross-Site', 'CROSS-SITE', 'Same-Site', 'none, cross-site', 'cross-site, none', 'same-origin, same-site', 'bogus', '']) {
    const res = await send(stack.port, { target: '/api/3/stacks', headers: [['Sec-Fetch-Site', value]] })
    assertProxyError(t, res, 403, 'forbidden_origin')
  }
  // Two headers are joined into one list by the parser: refused too.
  const two = await send(stack.port, {
    target: '/api/3/stacks',
    headers: [
      ['Sec-Fetch-Site', 'none'],
      ['Sec-Fetch-Site', 'cross-site'],
    ],
  })
  assertProxyError(t, two, 403, 'forbidden_origin')
  assertUpstreamUntouched(t, stack)
  for (const value of ['same-origin', 'none', 'Same-Origin', 'NONE']) {
    const res = await send(stack.port, { target: '/api/3/stacks', headers: [['Sec-Fetch-Site', value]] })
    t.is(res.status, 200, value)
  }
})

test('finding 5: a repeated return_to on /-/login is refused, and no login is started', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const res = await fetch(`${proxy.url}/-/login?return_to=/-/&return_to=//evil.example`, { redirect: 'manual' })
  t.is(res.status, 400)
  t.is(res.headers.get('set-cookie'), null)
  t.regex(await res.text(), /return_to at most once/)
  const once = await fetch(`${proxy.url}/-/login?return_to=/-/`, { redirect: 'manual' })
  t.is(once.status, 303)
})

test('finding 5: identity-header values live in their own sso: namespace and can never name a Cloud 66 member or a bot', async (t) => {
  const HEADER = 'X-Forwarded-Email'
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { trustedIdentityHeader: HEADER, trustedProxies: ['127.0.0.1/32'] } })
  // Cloud 66 user 1 logs in without SSO and so is cloud66:1; a bot gets a token of its own.
  const one = await loginMember(t, gw, sim, 1)
  await createKey(gw, one.cookie)
  t.truthy(await memberToken(gw, 'cloud66:1'))
  const before = sim.requests.length
  for (const value of ['cloud66:1', 'service:deploy', 'sso:someone@example.com', 'not an e-mail', 'a@b']) {
    const res = await gwRequest(gw, '/stacks.json', { headers: { [HEADER]: value } })
    t.is(res.status, 401, value)
    t.is(errorCode(res), 'unidentified', value)
  }
  t.is(sim.requests.length, before, "nothing reached Cloud 66 with anyone's token")
  // A real e-mail names sso:<e-mail>, which has no token yet.
  const grace = await gwRequest(gw, '/stacks.json', { headers: { [HEADER]: 'Grace@Example.com' } })
  t.is(grace.status, 401)
  t.is(errorCode(grace), 'login_required')
})
