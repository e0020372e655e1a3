// PKCE (RFC 7636, S256): /-/login sends a challenge, /-/callback redeems the code with the verifier
// it was made from. Doorkeeper refuses a verifier for a code that had no challenge, and a missing
// or wrong verifier for one that had (cloud66-api.md §9 items 25-26), so the successful exchange
// and the recorded bodies together show the verifier goes exactly where a challenge went.
import { createHash } from 'node:crypto'
import test from 'ava'
import { loginThroughProxy, startOAuthProxy, storedToken, tokenRequests } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'

const s256 = (verifier: string) => createHash('sha256').update(verifier, 'ascii').digest('base64url')

test('the code is redeemed with the verifier whose S256 hash is the challenge sent to Cloud 66', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const login = await loginThroughProxy(proxy, sim)
  const challenge = login.started.authorizeUrl.searchParams.get('code_challenge') ?? ''

  // What Cloud 66 received at /oauth/authorize: the challenge, and never a verifier.
  const authorize = sim.requests.find((r) => r.method === 'GET' && r.url.startsWith('/oauth/authorize?'))
  const authorizeQuery = new URL(authorize?.url ?? '/', sim.url).searchParams
  t.is(authorizeQuery.get('code_challenge'), challenge)
  t.is(authorizeQuery.get('code_challenge_method'), 'S256')
  t.false(authorizeQuery.has('code_verifier'), 'the verifier never travels through the browser')

  const [exchange, ...more] = tokenRequests(sim)
  t.is(more.length, 0)
  const fields = exchange?.fields ?? new URLSearchParams()
  t.is(fields.get('grant_type'), 'authorization_code')
  t.is(fields.get('code'), login.consent.location.searchParams.get('code'))
  t.is(fields.get('redirect_uri'), `${proxy.url}/-/callback`, 'the same redirect URI as at /oauth/authorize')
  const verifier = fields.get('code_verifier') ?? ''
  t.regex(verifier, /^[A-Za-z0-9._~-]{43,128}$/, 'an RFC 7636 §4.1 verifier')
  t.is(s256(verifier), challenge, 'the verifier is the one the challenge was made from')
  t.false(login.started.authorizeUrl.href.includes(verifier))
  t.false(login.started.setCookie.includes(verifier), 'the verifier is not kept in the browser either')

  // Cloud 66 checked it: a wrong or missing verifier would have been refused with no token issued.
  t.is(sim.oauthCalls.token, 1)
  t.truthy(await storedToken(proxy))
})

test('each login attempt has its own verifier and challenge', async (t) => {
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  const first = await loginThroughProxy(proxy, sim)
  const second = await loginThroughProxy(proxy, sim)
  const [a, b] = tokenRequests(sim).map((r) => r.fields.get('code_verifier'))
  t.truthy(a)
  t.truthy(b)
  t.not(a, b)
  t.not(first.started.authorizeUrl.searchParams.get('code_challenge'), second.started.authorizeUrl.searchParams.get('code_challenge'))
})
