// Proactive refresh: a token with a refresh token is refreshed when it is within the skew of its
// expiry (default 60 s, --refresh-skew), but never earlier than half-way through its life, so a
// short-lived token is not refreshed on every request. Tokens that never expire (Cloud 66's usual
// case) are never refreshed. The fake clock is shared by the proxy and the simulator.
import test, { type ExecutionContext } from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import { send } from '../helpers/forwarding.js'
import { loginThroughProxy, startOAuthProxy, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import type { StartedProxy } from '../helpers/proxy.js'
import type { Simulator } from '../../src/simulator/index.js'
import { Secret } from '../../src/secret.js'
import { LOCAL_CALLER } from '../../src/tokens/token-service.js'

async function loggedIn(t: ExecutionContext, ttlSeconds: number | undefined, flags: Record<string, unknown> = {}) {
  const clock = new FakeClock()
  const sim = await startSim(t, { ...(ttlSeconds === undefined ? {} : { accessTokenTtlSeconds: ttlSeconds }), issueRefreshTokens: true, clock })
  const proxy = await startOAuthProxy(t, sim, { flags, io: { clock } })
  await loginThroughProxy(proxy, sim)
  const first = (await storedToken(proxy))?.accessToken.reveal() ?? ''
  return { clock, sim, proxy, first }
}

/** One API call through the proxy; the token the simulator saw for it. */
async function tokenUsed(sim: Simulator, proxy: StartedProxy, n: number): Promise<string | undefined> {
  const reply = await send(`${proxy.url}/stacks?call=${n}`)
  if (reply.status !== 200) throw new Error(`call ${n} answered ${reply.status}`)
  return sim.requests.find((r) => r.url === `/api/3/stacks?call=${n}`)?.token
}

const refreshes = (sim: Simulator) => sim.oauthCalls.tokenByGrant['refresh_token'] ?? 0

test('a 60 s token is not refreshed 10 s in (the skew is capped at half its life) but is 31 s in', async (t) => {
  const { clock, sim, proxy, first } = await loggedIn(t, 60)
  clock.advance(10_000)
  t.is(await tokenUsed(sim, proxy, 1), first)
  t.is(refreshes(sim), 0, 'a 60 s skew would refresh a 60 s token on every request')

  clock.advance(19_000) // 29 s: still in the first half
  t.is(await tokenUsed(sim, proxy, 2), first)
  t.is(refreshes(sim), 0)

  clock.advance(2_000) // 31 s: inside the (capped) 30 s skew
  const second = await tokenUsed(sim, proxy, 3)
  t.is(refreshes(sim), 1)
  t.not(second, first)
  t.is(second, (await storedToken(proxy))?.accessToken.reveal(), 'the new pair was stored before it was used')
  t.is(await tokenUsed(sim, proxy, 4), second, 'the next request uses it without another refresh')
  t.is(refreshes(sim), 1)
})

test('with the default skew a one-hour token is refreshed in its last minute, not before', async (t) => {
  const { clock, sim, proxy, first } = await loggedIn(t, 3600)
  clock.advance(3600_000 - 61_000)
  t.is(await tokenUsed(sim, proxy, 1), first)
  t.is(refreshes(sim), 0)
  clock.advance(2_000) // 59 s left
  t.not(await tokenUsed(sim, proxy, 2), first)
  t.is(refreshes(sim), 1)
})

test('--refresh-skew 5m refreshes a one-hour token five minutes before it expires', async (t) => {
  const { clock, sim, proxy, first } = await loggedIn(t, 3600, { refreshSkew: '5m' })
  clock.advance(3600_000 - 301_000)
  t.is(await tokenUsed(sim, proxy, 1), first)
  t.is(refreshes(sim), 0)
  clock.advance(2_000) // 4 min 59 s left
  const second = await tokenUsed(sim, proxy, 2)
  t.is(refreshes(sim), 1, 'the configured skew, not the one-minute default, decides')
  t.not(second, first)
})

test('a token that never expires is never refreshed, however much time passes', async (t) => {
  const { clock, sim, proxy, first } = await loggedIn(t, undefined)
  t.truthy((await storedToken(proxy))?.refreshToken, 'it even has a refresh token')
  clock.advance(365 * 24 * 3600_000)
  t.is(await tokenUsed(sim, proxy, 1), first)
  t.is(refreshes(sim), 0)
})

test('an expired token without a refresh token is not sent: the caller is told to log in again', async (t) => {
  const clock = new FakeClock()
  const sim = await startSim(t, { accessTokenTtlSeconds: 60, issueRefreshTokens: false, clock })
  const proxy = await startOAuthProxy(t, sim, { io: { clock } })
  await loginThroughProxy(proxy, sim)
  clock.advance(61_000)
  const before = sim.requests.length
  const reply = await send(`${proxy.url}/stacks`)
  t.is(reply.status, 401)
  t.is((JSON.parse(reply.body.toString()) as { error: string }).error, 'login_required', 'not "no token": the user did log in, and must again')
  t.is(sim.requests.slice(before).filter((r) => r.url.startsWith('/api/3/')).length, 0, 'the dead token never reached Cloud 66')
  t.regex(await (await fetch(`${proxy.url}/-/`)).text(), /Login required/)
})

test('a cached token without a refresh token is not sent once it has expired: the cache never outlives the token', async (t) => {
  const clock = new FakeClock()
  const sim = await startSim(t, { clock })
  const proxy = await startOAuthProxy(t, sim, { io: { clock } })
  const issued = sim.issueToken(1, ['public'], { expiresInSeconds: 60, refreshToken: false })
  await proxy.app.store.putToken(LOCAL_CALLER, {
    accessToken: new Secret(issued.accessToken),
    refreshToken: undefined,
    tokenType: 'Bearer',
    scope: 'public',
    expiresAt: clock.now() + 60_000,
    obtainedAt: clock.now(),
    origin: 'oauth',
  })
  t.is(await tokenUsed(sim, proxy, 1), issued.accessToken, 'cached now')

  // The cache's own timer runs on the monotonic clock, which also stands still while a laptop
  // sleeps; the token's expiry is wall-clock time.
  clock.advance(61_000)
  const before = sim.requests.length
  const reply = await send(`${proxy.url}/stacks?call=2`)
  t.is(reply.status, 401)
  t.is((JSON.parse(reply.body.toString()) as { error: string }).error, 'login_required')
  t.deepEqual(
    sim.requests.slice(before).map((r) => r.url),
    [],
    'the expired token never left the proxy',
  )
})
