// The token endpoint's answer is read by its Content-Type: JSON (what Doorkeeper sends) or the
// form encoding Cloud 66's docs describe (cloud66-api.md §1.7). Either way the stored token holds
// every field. The client authenticates in the form body by default, or with HTTP Basic when
// configured (§1.3, §9 item 11), on every call to Cloud 66's OAuth endpoints.
import test from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import { send } from '../helpers/forwarding.js'
import { cookiePair, loginThroughProxy, startOAuthProxy, storedToken, tokenRequests } from '../helpers/oauth-login.js'
import { CLIENT_ID, CLIENT_SECRET, startSim } from '../helpers/oauth-sim.js'
import type { StartedProxy } from '../helpers/proxy.js'

const TTL_SECONDS = 7200

for (const format of ['json', 'form'] as const) {
  test(`a ${format === 'json' ? 'JSON' : 'form-encoded'} token answer is stored with every field`, async (t) => {
    const clock = new FakeClock()
    const sim = await startSim(t, { tokenResponseFormat: format, accessTokenTtlSeconds: TTL_SECONDS, issueRefreshTokens: true, clock })
    const proxy = await startOAuthProxy(t, sim, { flags: { scopes: 'public redeploy' }, io: { clock } })
    const loggedInAt = clock.now()
    await loginThroughProxy(proxy, sim)

    const stored = await storedToken(proxy)
    if (stored === undefined) return t.fail('nothing stored')
    const access = stored.accessToken.reveal()
    const refresh = stored.refreshToken?.reveal()
    t.is(sim.userOf(access), 1, 'access_token is the one Cloud 66 issued')
    t.truthy(refresh, 'refresh_token kept')
    t.not(refresh, access)
    t.is(sim.userOf(refresh ?? ''), 1, 'refresh_token is the one Cloud 66 issued')
    t.is(stored.tokenType.toLowerCase(), 'bearer', 'token_type kept (the scheme is case-insensitive)')
    t.is(stored.scope, 'public redeploy', 'scope, space-separated')
    t.is(stored.expiresAt, loggedInAt + TTL_SECONDS * 1000, 'expires_in turned into an expiry time')
    t.is(stored.obtainedAt, loggedInAt, 'created_at (seconds) kept as the time obtained')
    t.is(stored.origin, 'oauth')
    t.falsy(stored.loginRequired)

    const exchange = tokenRequests(sim)[0]
    const record = sim.requests.find((r) => r.url === '/oauth/token')
    t.truthy(exchange)
    t.is(record?.headers.accept, 'application/json', 'the proxy asks for JSON; the answer decides how it is read')

    t.is((await send(`${proxy.url}/stacks`)).status, 200)
    t.is(sim.requests.at(-1)?.token, access)
  })
}

test('by default the client authenticates with client_id and client_secret in the form body, never in a header', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  await loginThroughProxy(proxy, sim)
  const [exchange] = tokenRequests(sim)
  t.is(exchange?.fields.get('client_id'), CLIENT_ID)
  t.is(exchange?.fields.get('client_secret'), CLIENT_SECRET)
  t.is(exchange?.authorization, undefined)
  t.truthy(await storedToken(proxy), 'Cloud 66 accepted the credentials')
})

/** POST /-/logout as the status page's form does it (double-submit CSRF token). */
async function logOut(proxy: StartedProxy): Promise<Response> {
  const page = await fetch(`${proxy.url}/-/`)
  const html = await page.text()
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''
  return fetch(`${proxy.url}/-/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiePair(page, 'c66p_csrf') },
    body: new URLSearchParams({ csrf }).toString(),
  })
}

test('with --client-auth basic every OAuth call authenticates with HTTP Basic and sends no secret in the body', async (t) => {
  const clock = new FakeClock()
  const sim = await startSim(t, { accessTokenTtlSeconds: 3600, issueRefreshTokens: true, clock })
  const proxy = await startOAuthProxy(t, sim, { flags: { clientAuth: 'basic' }, io: { clock } })
  const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

  await loginThroughProxy(proxy, sim)
  clock.advance(3600_000)
  t.is((await send(`${proxy.url}/stacks`)).status, 200, 'the expired token was refreshed')
  const logout = await logOut(proxy)
  t.is(logout.status, 303)

  const calls = sim.requests.filter((r) => r.method === 'POST' && (r.url === '/oauth/token' || r.url === '/oauth/revoke'))
  t.deepEqual(
    calls.map((r) => [r.url, new URLSearchParams(r.body.toString()).get('grant_type')]),
    [
      ['/oauth/token', 'authorization_code'],
      ['/oauth/token', 'refresh_token'],
      ['/oauth/revoke', null],
    ],
  )
  for (const call of calls) {
    const fields = new URLSearchParams(call.body.toString())
    t.is(call.headers.authorization, basic, `${call.url} ${fields.get('grant_type') ?? ''}: HTTP Basic`)
    t.false(fields.has('client_secret'), `${call.url} ${fields.get('grant_type') ?? ''}: no secret in the body`)
    t.false(call.body.toString().includes(CLIENT_SECRET))
  }
  t.is(sim.oauthCalls.revoke, 1)
  t.is(await storedToken(proxy), undefined, 'logged out')
})
