// Refresh-token rotation across processes (cloud66-api.md §9 items 16-17, peers.md §3 items 30-33).
// Two proxies share one data dir and one C66_PROXY_SECRET, as a proxy and its sibling (or the CLI)
// do. Doorkeeper rotates the pair on every refresh; with revokePreviousOnUse off the old refresh
// token is refused (invalid_grant) the moment it is rotated. A proxy that still holds the old
// pair must pick up its sibling's newer token from the store instead of failing, and only when
// nobody has a newer token is the caller marked as needing a login.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { createMetrics } from '../../src/metrics.js'
import { generateSecret } from '../../src/store/keys.js'
import { LOCAL_CALLER } from '../../src/tokens/token-service.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { closedPort, metricValue, metricsText, send } from '../helpers/forwarding.js'
import { loginThroughProxy, startOAuthProxy, statusPage, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import { until } from '../helpers/wait.js'
import type { StartedProxy } from '../helpers/proxy.js'
import type { Simulator } from '../../src/simulator/index.js'

const TTL_MS = 3600_000

interface Pair {
  readonly clock: FakeClock
  readonly sim: Simulator
  readonly dataDir: string
  readonly secret: string
  readonly a: StartedProxy
  readonly b: StartedProxy
}

async function siblings(t: ExecutionContext, fetchOfB?: (fetchOfA: () => StartedProxy) => typeof fetch): Promise<Pair> {
  const dataDir = await mkdtemp(join(tmpdir(), 'c66-proxy-shared-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const secret = generateSecret()
  const clock = new FakeClock()
  const sim = await startSim(t, { accessTokenTtlSeconds: TTL_MS / 1000, issueRefreshTokens: true, revokePreviousOnUse: false, clock })
  const shared = { flags: { dataDir }, env: { C66_PROXY_SECRET: secret } }
  const a = await startOAuthProxy(t, sim, { ...shared, io: { clock, metrics: createMetrics() } })
  const b = await startOAuthProxy(t, sim, { ...shared, io: { clock, metrics: createMetrics(), ...(fetchOfB ? { fetch: fetchOfB(() => a) } : {}) } })
  return { clock, sim, dataDir, secret, a, b }
}

/** One API call; the status the caller got and the token Cloud 66 saw. */
async function call(sim: Simulator, proxy: StartedProxy, tag: string): Promise<{ status: number; error: string | undefined; token: string | undefined }> {
  const reply = await send(`${proxy.url}/stacks?${tag}`)
  const body = reply.headers['content-type']?.startsWith('application/json') ? (JSON.parse(reply.body.toString()) as { error?: string }) : {}
  return { status: reply.status, error: body.error, token: sim.requests.find((r) => r.url === `/api/3/stacks?${tag}`)?.token }
}

const refreshOutcome = async (proxy: StartedProxy, outcome: string) => metricValue(await metricsText(proxy), 'c66_proxy_token_refreshes_total', { outcome })

test("a proxy whose sibling already refreshed adopts the sibling's token from the store instead of refreshing again", async (t) => {
  const { clock, sim, a, b } = await siblings(t)
  await loginThroughProxy(a, sim)
  const first = (await storedToken(a))?.accessToken.reveal()
  t.is((await call(sim, a, 'a1')).token, first)
  t.is((await call(sim, b, 'b1')).token, first, 'both proxies hold the first pair')

  clock.advance(TTL_MS + 1)
  const fromA = await call(sim, a, 'a2')
  t.is(fromA.status, 200)
  t.not(fromA.token, first, 'A refreshed')
  const fromB = await call(sim, b, 'b2')

  t.is(fromB.status, 200, 'no error for the caller of B')
  t.is(fromB.token, fromA.token, 'B uses the token A stored')
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1, 'B did not burn the rotated pair with a second refresh')
  t.is(await refreshOutcome(a, 'success'), 1)
  t.is(await refreshOutcome(b, 'adopted'), 1)
  t.is(await refreshOutcome(b, 'success'), 0)
})

test("a refresh refused with invalid_grant because a sibling rotated the pair meanwhile adopts the sibling's newer token", async (t) => {
  // The sibling's refresh lands while B's own refresh is on its way to Cloud 66: B's lock did not
  // stop it (say a replica whose lock was taken over as stale). B gets invalid_grant for the old
  // refresh token and must find the newer pair in the store.
  let raced = false
  const { clock, sim, a, b } = await siblings(t, (siblingA) => async (input, init) => {
    if (!raced && String(input).endsWith('/oauth/token') && String(init?.body).includes('grant_type=refresh_token')) {
      raced = true
      const sibling = siblingA()
      const held = await sibling.app.store.getToken(LOCAL_CALLER)
      if (held?.refreshToken === undefined || sibling.app.oauth === undefined) throw new Error('the sibling has nothing to refresh')
      await sibling.app.store.putToken(LOCAL_CALLER, await sibling.app.oauth.refresh(held.refreshToken))
    }
    return fetch(input, init)
  })
  await loginThroughProxy(a, sim)
  const first = (await storedToken(a))?.accessToken.reveal()
  t.is((await call(sim, b, 'b1')).token, first)

  clock.advance(TTL_MS + 1)
  const fromB = await call(sim, b, 'b2')
  const siblingToken = (await storedToken(a))?.accessToken.reveal()

  t.true(raced)
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 2, "the sibling's refresh, then B's with the rotated-away refresh token")
  t.is(fromB.status, 200, 'no error for the caller')
  t.not(siblingToken, first)
  t.is(fromB.token, siblingToken, "B went out with the sibling's token")
  t.is(await refreshOutcome(b, 'adopted'), 1)
  t.is(await refreshOutcome(b, 'invalid_grant'), 0, 'not counted as a failed refresh')
  t.falsy((await storedToken(b))?.loginRequired, 'the caller was not marked as needing a login')
  t.regex(await statusPage(b), /Token in use from <strong>store<\/strong>/)
})

test('when no one has a newer token, invalid_grant marks the caller as needing a login: API, status page and `c66-proxy status` say so', async (t) => {
  const { clock, sim, dataDir, secret, a, b } = await siblings(t)
  await loginThroughProxy(a, sim)
  const stored = await storedToken(a)
  t.is((await call(sim, b, 'b1')).status, 200)
  sim.revokeToken(stored?.refreshToken?.reveal() ?? '') // revoked in Cloud 66 (Account → Authorized apps)

  clock.advance(TTL_MS + 1)
  const refused = await call(sim, b, 'b2')
  t.is(refused.status, 401)
  t.is(refused.error, 'login_required')
  t.is(refused.token, undefined, 'the expired token was not sent')
  t.is(await refreshOutcome(b, 'invalid_grant'), 1)
  t.true((await storedToken(b))?.loginRequired, 'the mark is stored, for every process sharing the store')

  const again = await call(sim, b, 'b3')
  t.is(again.error, 'login_required', 'later requests are told the same')
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1, 'without another refresh attempt')
  t.is((await call(sim, a, 'a1')).error, 'login_required', 'the sibling sees it too')
  t.regex(await statusPage(b), /Login required/)
  t.regex(await statusPage(a), /Login required/)

  const cli = await runCli(
    ['status', '--data-dir', dataDir, '--upstream', sim.url.origin, '--listen', `127.0.0.1:${await closedPort()}`],
    cleanEnv({ C66_PROXY_SECRET: secret }),
  )
  t.is(cli.code, 1, cli.stderr)
  t.regex(cli.stdout, /token:\s+login required/)

  // Logging in again clears it: at once for the proxy that saw the login, and for its sibling
  // as soon as its short-lived "nothing usable" answer is re-read.
  await loginThroughProxy(a, sim)
  t.is((await call(sim, a, 'a2')).status, 200)
  let n = 0
  await until('the sibling to use the new login', async () => ((await call(sim, b, `b-again-${(n += 1)}`)).status === 200 ? true : undefined))
  t.regex(await statusPage(b), /Token in use from <strong>store<\/strong>/)
})

test('a revoked token shows as "login required" once Cloud 66 refuses it and its refresh token', async (t) => {
  const { sim, a } = await siblings(t)
  await loginThroughProxy(a, sim)
  const stored = await storedToken(a)
  sim.revokeToken(stored?.accessToken.reveal() ?? '') // kills the refresh token too (§9 item 24)

  const first = await send(`${a.url}/stacks`)
  t.is(first.status, 401, "Cloud 66's 401 reaches the caller")
  t.regex(first.headers['www-authenticate'] ?? '', /invalid_token/)
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1, 'one refresh was tried')
  t.regex(await statusPage(a), /Login required/)
  const next = await send(`${a.url}/stacks`)
  t.is(next.status, 401)
  t.is((JSON.parse(next.body.toString()) as { error: string }).error, 'login_required')
  t.is(metricValue(await metricsText(a), 'c66_proxy_upstream_401_total', { action: 'login_required' }), 1)
})
