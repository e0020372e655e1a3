// /-/callback accepts an answer from Cloud 66 only for an attempt this browser started in the
// last ten minutes, and only once (RFC 9700 §2.1, §4.7). Every refusal is a readable page, and
// nothing is stored; where the proxy has not redeemed anything, Cloud 66's token endpoint was not
// called either. `return_to` may only be a local path (peers.md §3 item 20).
import test from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import { metricValue, metricsText } from '../helpers/forwarding.js'
import { answerConsent, followToCallback, loginThroughProxy, startLogin, startOAuthProxy, storedToken, type CallbackAnswer } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import type { ExecutionContext } from 'ava'

/** A refusal: an HTML error page with no-store, no redirect, and the login cookie cleared. */
function assertRefusalPage(t: ExecutionContext, answer: CallbackAnswer, title: RegExp, text: RegExp): void {
  t.is(answer.res.status, 400)
  t.regex(answer.res.headers.get('content-type') ?? '', /^text\/html/)
  t.is(answer.res.headers.get('location'), null, 'no redirect: the person reads what happened')
  t.is(answer.res.headers.get('cache-control'), 'no-store')
  t.is(answer.res.headers.get('referrer-policy'), 'no-referrer')
  t.regex(answer.html, title)
  t.regex(answer.html, text)
  t.regex(answer.html, /href="\/-\/login"/, 'the page offers to start again')
  t.true(
    answer.res.headers.getSetCookie().some((c) => /^c66p_login=; .*Max-Age=0/.test(c)),
    'the login cookie is cleared',
  )
}

test('a callback carrying the cookie of another login attempt is refused (state mismatch) and nothing is redeemed', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const mine = await startLogin(proxy)
  const other = await startLogin(proxy)
  const consent = await answerConsent(sim, mine.authorizeUrl, 'Authorize')
  const answer = await followToCallback(consent.location, other.cookie)

  assertRefusalPage(t, answer, /<h1>Login failed<\/h1>/, /state mismatch/)
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0, 'the code was never sent to the token endpoint')
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_logins_total', { outcome: 'invalid_state' }), 1)
})

test('a callback without the login cookie is refused and nothing is redeemed', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  const answer = await followToCallback(consent.location)

  assertRefusalPage(t, answer, /<h1>Login failed<\/h1>/, /login cookie is missing/)
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0)
})

test('a callback whose state this proxy never issued is refused and nothing is redeemed', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  const forged = new URL(consent.location)
  forged.searchParams.set('state', 'a-state-this-proxy-never-issued')
  const answer = await followToCallback(forged, started.cookie)

  assertRefusalPage(t, answer, /<h1>Login failed<\/h1>/, /already used or has expired/)
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0)
})

test('a callback URL used a second time is refused, and the code is redeemed only once', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const first = await loginThroughProxy(proxy, sim)
  const token = (await storedToken(proxy))?.accessToken.reveal()
  t.truthy(token)

  // The same URL and the same cookie again (a replayed request, or a captured URL).
  const answer = await followToCallback(first.consent.location, first.started.cookie)
  assertRefusalPage(t, answer, /<h1>Login failed<\/h1>/, /already used or has expired/)
  t.is(sim.oauthCalls.token, 1, 'the second use never reached the token endpoint')
  t.is((await storedToken(proxy))?.accessToken.reveal(), token, 'the stored token is untouched')
})

test('a callback arriving more than ten minutes after /-/login is refused and nothing is redeemed', async (t) => {
  const sim = await startSim(t) // on the real clock: its code would still be good
  const clock = new FakeClock()
  const proxy = await startOAuthProxy(t, sim, { io: { clock } })
  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  clock.advance(10 * 60_000 + 1)
  const answer = await followToCallback(consent.location, started.cookie)

  assertRefusalPage(t, answer, /<h1>Login failed<\/h1>/, /already used or has expired.*10 minutes/)
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0)
})

test('a callback just inside the ten minutes still logs in', async (t) => {
  const sim = await startSim(t)
  const clock = new FakeClock()
  const proxy = await startOAuthProxy(t, sim, { io: { clock } })
  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  clock.advance(10 * 60_000 - 1)
  const answer = await followToCallback(consent.location, started.cookie)
  t.is(answer.res.status, 303)
  t.truthy(await storedToken(proxy))
})

test('pressing Deny on Cloud 66 shows "Login cancelled" and stores nothing', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const started = await startLogin(proxy)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Deny')
  t.is(consent.location.searchParams.get('error'), 'access_denied')
  const answer = await followToCallback(consent.location, started.cookie)

  assertRefusalPage(t, answer, /<h1>Login cancelled<\/h1>/, /declined the authorization request/)
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_logins_total', { outcome: 'denied' }), 1)
})

test('another error from Cloud 66 shows "Login failed" with the error code, escaped, and never Cloud 66\'s own text', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  for (const error of ['server_error', 'invalid_scope', '<img src=x onerror=alert(1)>']) {
    const started = await startLogin(proxy)
    const callback = new URL(`${proxy.url}/-/callback`)
    callback.searchParams.set('error', error)
    callback.searchParams.set('error_description', '<script>alert("from the authorization server")</script>')
    callback.searchParams.set('state', started.state)
    const answer = await followToCallback(callback, started.cookie)

    assertRefusalPage(t, answer, /<h1>Login failed<\/h1>/, /Cloud 66 refused the authorization/)
    t.false(answer.html.includes('<script>alert'), `${error}: the description is not echoed`)
    t.false(answer.html.includes('<img'), `${error}: the error code is escaped`)
    if (!error.includes('<')) t.true(answer.html.includes(`(${error})`), `${error}: the page names the error code`)
  }
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0)
})

test('a callback with neither code nor error is refused and nothing is stored', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const started = await startLogin(proxy)
  const answer = await followToCallback(`${proxy.url}/-/callback?state=${encodeURIComponent(started.state)}`, started.cookie)
  t.is(answer.res.status, 400)
  t.regex(answer.html, /<h1>Login failed<\/h1>/)
  t.is(await storedToken(proxy), undefined)
  t.is(sim.oauthCalls.token, 0)
})

test('return_to is honoured only as a local path; anything that could leave the proxy lands on /-/', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const cases: Array<[string, string]> = [
    ['/-/?welcome=1', '/-/?welcome=1'],
    ['//evil.com', '/-/'],
    ['https://evil.com', '/-/'],
    ['/\\evil.com', '/-/'],
    ['/%2F%2Fevil.com', '/%2F%2Fevil.com'],
    ['javascript:alert(1)', '/-/'],
  ]
  for (const [returnTo, landing] of cases) {
    const login = await loginThroughProxy(proxy, sim, `?return_to=${encodeURIComponent(returnTo)}`)
    t.is(login.callback.res.headers.get('location'), landing, `return_to=${returnTo}`)
    const target = new URL(login.callback.res.headers.get('location') ?? '', proxy.url)
    t.is(target.origin, proxy.url, `return_to=${returnTo} stays on the proxy`)
  }
})
