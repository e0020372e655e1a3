// The status page says what Cloud 66 last said about the token: a 401 turns it red, and a later
// answer that accepts the same token (Cloud 66 had a bad minute, the token was re-enabled) turns
// it back, as /-/readyz already is. Before, only a login, logout or `token set` cleared it.
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { send, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'

const REJECTED = /Cloud 66 rejected this token \(401\)/

async function statusPage(url: string): Promise<string> {
  const page = await send(`${url}/-/`)
  if (page.status !== 200) throw new Error(`/-/ answered ${page.status}`)
  return page.body.toString('utf8')
}

test('after a 401 the status page shows the token as rejected, and a later accepted request clears that', async (t) => {
  const sim = await startSim(t, { tokens: { 'flaky-token': ALL_SCOPES } })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'flaky-token' } })
  t.notRegex(await statusPage(proxy.url), REJECTED)

  sim.revokeToken('flaky-token')
  t.is((await send(`${proxy.url}/stacks.json`)).status, 401)
  t.regex(await statusPage(proxy.url), REJECTED, 'red after the 401')
  t.is((await send(`${proxy.url}/-/readyz`)).status, 200)

  // Cloud 66 accepts the same token again.
  sim.setToken('flaky-token', ALL_SCOPES)
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  const page = await statusPage(proxy.url)
  t.notRegex(page, REJECTED, 'no longer red once Cloud 66 answered with something other than 401')
  t.regex(page, /class="ok" id="token-state"/)
})

test('a 403 or 404 from Cloud 66 also shows the token was accepted; a proxy-side refusal does not', async (t) => {
  const sim = await startSim(t, { tokens: { 'flaky-token': ALL_SCOPES } })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'flaky-token' }, flags: { readOnly: true } })
  sim.revokeToken('flaky-token')
  t.is((await send(`${proxy.url}/stacks.json`)).status, 401)
  sim.setToken('flaky-token', ALL_SCOPES)
  // Refused by the proxy itself (read-only): Cloud 66 said nothing, so the page stays red.
  t.is((await send(`${proxy.url}/stacks.json`, { method: 'POST' })).status, 403)
  t.regex(await statusPage(proxy.url), REJECTED)
  // Cloud 66's own 404 needs an accepted token.
  t.is((await send(`${proxy.url}/stacks/no-such-stack.json`)).status, 404)
  t.notRegex(await statusPage(proxy.url), REJECTED)
})
