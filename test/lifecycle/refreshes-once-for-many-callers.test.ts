// Single-flight refresh: however many requests find the caller's token expired at once, exactly
// one of them goes to Cloud 66's /oauth/token; the others wait for it (counted as coalesced
// waits) and all go out with the new token. A second refresh would burn the rotated pair
// (Doorkeeper rotates refresh tokens, cloud66-api.md §9 items 16-17).
import test from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import { metricValue, metricsText, send, within } from '../helpers/forwarding.js'
import { loginThroughProxy, startOAuthProxy, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import { until } from '../helpers/wait.js'
import { createMetrics } from '../../src/metrics.js'

const CALLERS = 200

test('200 concurrent requests with an expired token cause exactly one refresh, and all 200 go out with the new token', async (t) => {
  const clock = new FakeClock()
  const sim = await startSim(t, { accessTokenTtlSeconds: 3600, issueRefreshTokens: true, clock })
  const metrics = createMetrics()

  // The refresh call is held until every request is waiting for it, so the count below does not
  // depend on how fast 200 connections arrive. Nothing else about the call changes.
  let holdRefresh = false
  let release: () => void = () => undefined
  const released = new Promise<void>((resolve) => (release = resolve))
  t.teardown(() => release())
  const heldFetch: typeof fetch = async (input, init) => {
    if (holdRefresh && String(input).endsWith('/oauth/token')) await released
    return fetch(input, init)
  }
  const proxy = await startOAuthProxy(t, sim, { io: { clock, metrics, fetch: heldFetch } })
  await loginThroughProxy(proxy, sim)
  const old = (await storedToken(proxy))?.accessToken.reveal()

  clock.advance(3600_000 + 1)
  holdRefresh = true
  const replies = Promise.all(Array.from({ length: CALLERS }, (_, i) => send(`${proxy.url}/stacks?caller=${i}`)))
  const coalesced = async () => (await metrics.refreshCoalesced.get()).values[0]?.value ?? 0
  try {
    await until(`${CALLERS - 1} requests waiting for the refresh in flight`, async () => ((await coalesced()) >= CALLERS - 1 ? true : undefined), 30_000)
  } finally {
    release()
  }
  const answered = await within(replies, `${CALLERS} replies`, 30_000)

  t.deepEqual([...new Set(answered.map((r) => r.status))], [200], 'every caller got its answer')
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1, 'exactly one refresh reached Cloud 66')
  const fresh = (await storedToken(proxy))?.accessToken.reveal()
  t.truthy(fresh)
  t.not(fresh, old)
  const upstream = sim.requests.filter((r) => r.url.startsWith('/api/3/stacks?caller='))
  t.is(upstream.length, CALLERS)
  t.deepEqual([...new Set(upstream.map((r) => r.token))], [fresh], 'all of them carried the new token')

  const text = await metricsText(proxy)
  t.is(metricValue(text, 'c66_proxy_token_refresh_coalesced_total'), CALLERS - 1)
  t.is(metricValue(text, 'c66_proxy_token_refreshes_total', { outcome: 'success' }), 1)
})
