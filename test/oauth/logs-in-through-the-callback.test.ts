// The browser-less login, step by step as a browser takes it (RFC 6749 §4.1 with PKCE, RFC 9700):
// /-/login sends the browser to Cloud 66 with every parameter of the authorization request and a
// short-lived HttpOnly cookie; Cloud 66's redirect back to /-/callback is redeemed, stored, and
// answered with a 303 that takes the code out of the address bar. The next API call carries the
// new token.
import test from 'ava'
import { metricValue, metricsText, send } from '../helpers/forwarding.js'
import {
  answerConsent,
  cookiesNamed,
  followToCallback,
  loginThroughProxy,
  startLogin,
  startOAuthProxy,
  statusPage,
  storedToken,
} from '../helpers/oauth-login.js'
import { CLIENT_ID, startSim } from '../helpers/oauth-sim.js'

test('GET /-/login redirects to Cloud 66 with a complete authorization request and a short-lived HttpOnly login cookie', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim, { flags: { scopes: 'public redeploy' } })
  const { res, authorizeUrl, setCookie } = await startLogin(proxy)

  t.is(res.status, 303)
  t.is(res.headers.get('cache-control'), 'no-store')
  t.is(res.headers.get('referrer-policy'), 'no-referrer')
  t.is(`${authorizeUrl.origin}${authorizeUrl.pathname}`, `${sim.url.origin}/oauth/authorize`)
  const q = authorizeUrl.searchParams
  t.is(q.get('response_type'), 'code')
  t.is(q.get('client_id'), CLIENT_ID)
  // The public URL follows the port the proxy really listens on (it was started on port 0).
  t.is(q.get('redirect_uri'), `${proxy.url}/-/callback`)
  t.is(q.get('scope'), 'public redeploy', 'scopes are separated by a space, never a comma')
  t.regex(q.get('state') ?? '', /^[A-Za-z0-9_-]{32,}$/, 'a random state of at least 32 url-safe characters')
  t.regex(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, 'an S256 challenge is 43 base64url characters')
  t.is(q.get('code_challenge_method'), 'S256')
  t.deepEqual(
    [...q.keys()].sort(),
    ['client_id', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'scope', 'state'],
    "nothing else, and never the docs' redirect_url",
  )

  const attributes = setCookie.split(';').map((a) => a.trim())
  t.regex(attributes[0] ?? '', /^c66p_login=[A-Za-z0-9_-]{43}$/)
  t.true(attributes.includes('HttpOnly'))
  t.true(attributes.includes('SameSite=Lax'))
  t.true(attributes.includes('Max-Age=600'), 'the pending login lasts ten minutes')
  t.true(attributes.includes('Path=/-/'))
  t.false(setCookie.includes(q.get('state') ?? '-'), 'the cookie is a binding secret, not the state itself')

  // A second attempt gets its own state and cookie.
  const again = await startLogin(proxy)
  t.not(again.state, q.get('state'))
  t.not(again.cookie, attributes[0])
})

test('approving on Cloud 66 lands back on /-/ logged in, and the next API call carries the new token', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim, { flags: { scopes: 'public redeploy' } })
  t.is(await storedToken(proxy), undefined, 'no token before the login')

  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  t.is(`${consent.location.origin}${consent.location.pathname}`, `${proxy.url}/-/callback`, 'Cloud 66 sends the browser back to this proxy')
  t.is(consent.location.searchParams.get('state'), started.state)
  const callback = await followToCallback(consent.location, started.cookie)

  t.is(callback.res.status, 303)
  t.is(callback.res.headers.get('location'), '/-/', 'the code leaves the address bar')
  t.is(callback.res.headers.get('cache-control'), 'no-store')
  t.is(callback.res.headers.get('referrer-policy'), 'no-referrer')
  const cleared = cookiesNamed(callback.res, 'c66p_login')
  t.is(cleared.length, 1)
  t.regex(cleared[0] ?? '', /^c66p_login=; .*Max-Age=0/, 'the login cookie is cleared')
  t.is(sim.oauthCalls.tokenByGrant['authorization_code'], 1)

  const stored = await storedToken(proxy)
  t.truthy(stored)
  const newToken = stored?.accessToken.reveal() ?? ''
  t.is(sim.userOf(newToken), 1, 'the stored token is the one Cloud 66 issued to the user who approved')
  t.is(stored?.origin, 'oauth')
  t.is(stored?.scope, 'public redeploy')

  const reply = await send(`${proxy.url}/stacks`)
  t.is(reply.status, 200)
  const forwarded = sim.requests.filter((r) => r.url === '/api/3/stacks')
  t.is(forwarded.length, 1)
  t.is(forwarded[0]?.token, newToken, 'the API call went out with the token from the login')

  const page = await statusPage(proxy)
  t.regex(page, /Token in use from <strong>store<\/strong>/)
  t.regex(page, /<th>Scopes<\/th><td>public redeploy<\/td>/)
  t.regex(page, /Log out/)
  t.false(page.includes(newToken), 'the page shows a fingerprint, never the token')
  t.true(page.includes(stored?.accessToken.fingerprint ?? '-'))

  const metrics = await metricsText(proxy)
  t.is(metricValue(metrics, 'c66_proxy_logins_total', { outcome: 'started' }), 1)
  t.is(metricValue(metrics, 'c66_proxy_logins_total', { outcome: 'success' }), 1)
})

test('a second login replaces the stored token and the proxy switches to it at once', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  await loginThroughProxy(proxy, sim)
  const first = (await storedToken(proxy))?.accessToken.reveal()
  t.is((await send(`${proxy.url}/stacks`)).status, 200)

  await loginThroughProxy(proxy, sim)
  const second = (await storedToken(proxy))?.accessToken.reveal()
  t.truthy(second)
  t.not(second, first)
  t.is((await send(`${proxy.url}/stacks?page=2`)).status, 200)
  t.is(sim.requests.find((r) => r.url === '/api/3/stacks?page=2')?.token, second, 'the cached first token was not used after the new login')
})

test('/-/login without OAuth configured explains what to set instead of redirecting', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim, { flags: { clientId: undefined }, env: { C66_CLIENT_SECRET: undefined } })
  const res = await fetch(`${proxy.url}/-/login`, { redirect: 'manual' })
  const html = await res.text()
  t.is(res.status, 400)
  t.is(res.headers.get('location'), null)
  t.regex(html, /C66_CLIENT_ID/)
  t.is(sim.oauthCalls.authorize, 0)
})

// Cloud 66's redirect back is a cross-site top-level navigation, and so is the 303 to /-/ that
// follows it (a redirect chain that crossed sites keeps the label): the browser-attack guard must
// let exactly these GETs through. node:http sends the headers as given (fetch would replace
// Sec-Fetch-Mode with its own).
test('the redirect back from Cloud 66, with the headers a browser sends on a cross-site navigation, logs in', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  const navigation = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-user': '?1' }
  const callback = await send(consent.location, { headers: { cookie: started.cookie, ...navigation } })
  t.is(callback.status, 303)
  t.truthy(await storedToken(proxy))
  const landing = await send(`${proxy.url}/-/`, { headers: navigation })
  t.is(landing.status, 200)
  t.regex(landing.body.toString(), /Token in use from <strong>store<\/strong>/)

  // The same headers on anything else are still refused: only these two pages are navigable.
  const api = await send(`${proxy.url}/stacks`, { headers: navigation })
  t.is(api.status, 403)
})
