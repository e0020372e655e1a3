// An upstream 401 (`WWW-Authenticate: Bearer … error="invalid_token"`) to a stored OAuth token:
// the proxy evicts it, refreshes once, and sends the request again with the new token when it
// can (no body, or one small enough to have been buffered: --replay-body-limit, 1 MiB by
// default). The caller never sees the 401. A streamed body cannot be sent twice, so that 401
// reaches the caller with an X-C66-Proxy-Hint saying how to recover, and the token is renewed in
// the background for the next request.
//
// Cloud 66 is made to refuse the token with `expireToken` (its clock and ours disagree), which
// leaves the refresh token usable, as Doorkeeper does for an expired access token (§9 item 18).
import test, { type ExecutionContext } from 'ava'
import { metricValue, metricsText, send } from '../helpers/forwarding.js'
import { loginThroughProxy, startOAuthProxy, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import { until } from '../helpers/wait.js'

async function loggedInThenRefused(t: ExecutionContext, flags: Record<string, unknown> = {}) {
  const sim = await startSim(t, { issueRefreshTokens: true })
  const proxy = await startOAuthProxy(t, sim, { flags })
  await loginThroughProxy(proxy, sim)
  const old = (await storedToken(proxy))?.accessToken.reveal() ?? ''
  t.is((await send(`${proxy.url}/stacks?warm=1`)).status, 200, 'the token is cached and works')
  sim.expireToken(old)
  const before = sim.requests.length
  /** What reached the simulator's API since the token was refused. */
  const apiCalls = () => sim.requests.slice(before).filter((r) => r.url.startsWith('/api/3/'))
  return { sim, proxy, old, apiCalls }
}

test('a GET refused with 401 is refreshed and replayed: the caller sees 200, Cloud 66 saw both', async (t) => {
  const { sim, proxy, old, apiCalls } = await loggedInThenRefused(t)
  const reply = await send(`${proxy.url}/stacks`)

  t.is(reply.status, 200)
  t.is((JSON.parse(reply.body.toString()) as { response: unknown[] }).response.length, 30)
  const fresh = (await storedToken(proxy))?.accessToken.reveal()
  t.not(fresh, old)
  t.deepEqual(
    apiCalls().map((r) => [r.method, r.url, r.token]),
    [
      ['GET', '/api/3/stacks', old],
      ['GET', '/api/3/stacks', fresh],
    ],
  )
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1)
  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_upstream_401_total', { action: 'replayed' }), 1)
  t.is(metricValue(metrics, 'c66_proxy_token_refreshes_total', { outcome: 'success' }), 1)

  t.is((await send(`${proxy.url}/stacks?after=1`)).status, 200)
  t.is(sim.requests.at(-1)?.token, fresh, 'later requests use the new token straight away')
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1)
})

test('a POST with a small body refused with 401 is replayed with the identical body', async (t) => {
  const { proxy, old, apiCalls } = await loggedInThenRefused(t)
  const body = JSON.stringify({ command: 'redeploy', note: 'ünïcödé ✓' })
  const reply = await send(`${proxy.url}/api/3/echo`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })

  t.is(reply.status, 200)
  t.is(reply.body.toString(), body, 'the caller got the answer to the replay')
  const fresh = (await storedToken(proxy))?.accessToken.reveal()
  const calls = apiCalls()
  t.deepEqual(
    calls.map((r) => r.token),
    [old, fresh],
  )
  for (const r of calls) {
    t.is(r.method, 'POST')
    t.is(r.body.toString(), body, 'the same bytes both times')
    t.is(r.headers['content-length'], String(Buffer.byteLength(body)))
    t.is(r.headers['content-type'], 'application/json')
  }
})

test('a chunked upload refused with 401 is not replayed: the caller gets the 401', async (t) => {
  const { proxy, old, apiCalls } = await loggedInThenRefused(t)
  const reply = await send(`${proxy.url}/api/3/upload`, { method: 'POST', body: 'a streamed upload', chunked: true, headers: { 'content-type': 'text/plain' } })

  t.is(reply.status, 401)
  t.regex(reply.headers['www-authenticate'] ?? '', /error="invalid_token"/)
  t.deepEqual(
    apiCalls().map((r) => [r.url, r.token]),
    [['/api/3/upload', old]],
    'sent once, never again',
  )
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_401_total', { action: 'passed_through' }), 1)
})

/**
 * A 401 that cannot be replayed still starts the token's renewal (in the background) and carries
 * an `X-C66-Proxy-Hint` JSON header telling the caller what happened and what to do.
 */
async function assertHintAndRenewal(t: ExecutionContext, upload: { chunked: boolean; bytes: number }, flags: Record<string, unknown>) {
  const { sim, proxy, old, apiCalls } = await loggedInThenRefused(t, flags)
  const reply = await send(`${proxy.url}/api/3/upload`, {
    method: 'POST',
    body: Buffer.alloc(upload.bytes, 'u'),
    chunked: upload.chunked,
    headers: { 'content-type': 'application/octet-stream' },
  })
  t.is(reply.status, 401)
  t.deepEqual(
    apiCalls().map((r) => r.token),
    [old],
    'not replayed',
  )
  const hint = reply.headers['x-c66-proxy-hint']
  t.is(typeof hint, 'string', 'the 401 carries X-C66-Proxy-Hint')
  if (typeof hint !== 'string') return
  let parsed: unknown
  t.notThrows(() => (parsed = JSON.parse(hint)), 'the hint is JSON')
  t.is(typeof parsed, 'object')
  t.false(hint.includes(old), 'the hint never holds the token')

  // The renewal happens without another request having to fail first.
  const fresh = await until('the token to be renewed in the background', async () => {
    const now = (await storedToken(proxy))?.accessToken.reveal()
    return now !== undefined && now !== old ? now : undefined
  })
  const before = sim.requests.length
  t.is((await send(`${proxy.url}/stacks?next=1`)).status, 200)
  t.deepEqual(
    sim.requests.slice(before).map((r) => r.token),
    [fresh],
    'the next request goes out with the new token, no second 401',
  )
  t.is(sim.oauthCalls.tokenByGrant['refresh_token'], 1)
}

test('a chunked upload refused with 401 gets a JSON hint header and the token is renewed for the next request', async (t) => {
  await assertHintAndRenewal(t, { chunked: true, bytes: 2048 }, {})
})

test('an upload over the replay limit refused with 401 gets a JSON hint header and the token is renewed for the next request', async (t) => {
  await assertHintAndRenewal(t, { chunked: false, bytes: 4096 }, { replayBodyLimit: 1024 })
})
