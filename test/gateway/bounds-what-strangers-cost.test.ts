import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { gwRequest, startGateway, startGatewaySim } from '../helpers/gateway.js'

// Issue 10, finding 3: every unauthenticated GET /-/login wrote a sealed pending login for ten
// minutes, and return_to was bounded only by the header limit: 300 logins with a 4,000-character
// return_to added 1.76 MB to Redis (5.9 KB each). return_to is now at most 256 characters (a
// pending login then costs under 1 KB sealed), and each client address may start --login-rate logins.

const storeBytes = async (dataDir: string): Promise<number> => (await stat(join(dataDir, 'store.json')).catch(() => ({ size: 0 }))).size

test('finding 3: a return_to longer than 256 characters is refused and nothing is stored', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const before = await storeBytes(gw.dataDir)
  const res = await gwRequest(gw, `/-/login?return_to=/${'a'.repeat(4_000)}`)
  t.is(res.status, 400)
  t.regex(res.body, /at most 256 characters/)
  t.is(res.cookie('c66p_login'), undefined)
  t.is(await storeBytes(gw.dataDir), before)
})

test('finding 3: a pending login with the longest return_to costs the store less than 1 KB', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { loginRate: '100/m' } })
  // One first login creates the store file with its fixed parts; growth is measured after it.
  t.is((await gwRequest(gw, '/-/login')).status, 303)
  const before = await storeBytes(gw.dataDir)
  const count = 20
  for (let i = 0; i < count; i++) t.is((await gwRequest(gw, `/-/login?return_to=/${'b'.repeat(255)}`)).status, 303)
  const perLogin = ((await storeBytes(gw.dataDir)) - before) / count
  t.log(`${perLogin.toFixed(0)} bytes per pending login`)
  t.true(perLogin < 1_024, `${perLogin} bytes per pending login`)
})

test('finding 3: each address may start --login-rate logins; the next one gets 429 with Retry-After and stores nothing', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { loginRate: '5/m' } })
  for (let i = 0; i < 5; i++) t.is((await gwRequest(gw, '/-/login')).status, 303, `login ${i + 1}`)
  const before = await storeBytes(gw.dataDir)
  const refused = await gwRequest(gw, '/-/login')
  t.is(refused.status, 429)
  t.is(refused.json()['error'], 'rate_limited')
  t.regex(String(refused.headers['retry-after']), /^\d+$/)
  t.is(await storeBytes(gw.dataDir), before)
})

test('behind --trusted-proxies the client address is the right-most untrusted X-Forwarded-For entry; from anyone else, the peer', async (t) => {
  const sim = await startGatewaySim(t)
  const behindFront = await startGateway(t, { upstream: sim.url, flags: { loginRate: '2/m', trustedProxies: ['127.0.0.1/32', '10.0.0.0/8'] } })
  const login = (xff: string) => gwRequest(behindFront, '/-/login', { headers: { 'x-forwarded-for': xff } })
  // Two clients behind the front each get their own budget.
  for (const client of ['203.0.113.1', '203.0.113.2']) {
    t.is((await login(client)).status, 303)
    t.is((await login(client)).status, 303)
    t.is((await login(client)).status, 429, client)
  }
  // A client cannot pick its own address by sending X-Forwarded-For: the front appends the real
  // one, and trusted hops (10.x) after it are skipped.
  t.is((await login('198.51.100.7, 203.0.113.1')).status, 429, 'the spoofed left part is ignored')
  t.is((await login('203.0.113.1, 10.1.2.3')).status, 429, 'a trusted hop is skipped')
  t.is((await login('203.0.113.3, 10.1.2.3')).status, 303)

  const direct = await startGateway(t, { upstream: sim.url, flags: { loginRate: '2/m', trustedProxies: ['10.0.0.0/8'] } })
  const spoof = (xff: string) => gwRequest(direct, '/-/login', { headers: { 'x-forwarded-for': xff } })
  t.is((await spoof('203.0.113.10')).status, 303)
  t.is((await spoof('203.0.113.11')).status, 303)
  t.is((await spoof('203.0.113.12')).status, 429, 'from an untrusted peer X-Forwarded-For is not believed')
})
