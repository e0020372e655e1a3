// Refresh-token rotation and token expiry (reference §9 items 16-19, 28), both settings of
// Doorkeeper's previous_refresh_token column, with the simulator's clock moved by the test.
import test from 'ava'
import type { ExecutionContext } from 'ava'
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import type { TokenCall } from '../helpers/oauth-sim.js'
import {
  apiStatus,
  bearerChallenge,
  CALLBACK,
  CLIENT_ID,
  CLIENT_SECRET,
  codeRequest,
  INVALID_GRANT,
  obtainCode,
  postToken,
  redeem,
  startSim,
} from '../helpers/oauth-sim.js'

const EXPIRED = bearerChallenge('invalid_token', 'The access token expired')
const REVOKED = bearerChallenge('invalid_token', 'The access token was revoked')

interface Pair {
  readonly access: string
  readonly refresh: string
}

async function login(sim: Simulator, scope = 'public redeploy'): Promise<Pair> {
  const { body } = await redeem(sim, await obtainCode(sim, codeRequest({ scope })))
  return { access: body.access_token as string, refresh: body.refresh_token as string }
}

function refreshWith(sim: Simulator, refreshToken: string, extra: Record<string, string> = {}): Promise<TokenCall> {
  return postToken(sim, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...extra })
}

async function refreshed(t: ExecutionContext, sim: Simulator, refreshToken: string): Promise<Pair> {
  const { res, body } = await refreshWith(sim, refreshToken)
  t.is(res.status, 200)
  return { access: body.access_token as string, refresh: body.refresh_token as string }
}

const ROTATING: SimulatorOptions = { issueRefreshTokens: true, accessTokenTtlSeconds: 7200 }

test('a refresh returns a new pair with the same scope and a fresh expires_in', async (t) => {
  const sim = await startSim(t, ROTATING)
  const first = await login(sim)
  const { res, body } = await refreshWith(sim, first.refresh)
  t.is(res.status, 200)
  t.is(res.headers.get('cache-control'), 'no-store')
  t.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope', 'created_at'])
  t.not(body.access_token, first.access)
  t.not(body.refresh_token, first.refresh)
  t.is(body.scope, 'public redeploy')
  t.is(body.expires_in, 7200)
  t.is(sim.userOf(body.access_token as string), 1)
  t.is((await apiStatus(sim, body.access_token as string)).status, 200)
})

test('by default the old pair lives on until the new access token is first used', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  const b = await refreshed(t, sim, a.refresh)

  // Right after the refresh the old access token works and the old refresh token mints again.
  t.is((await apiStatus(sim, a.access)).status, 200)
  const c = await refreshed(t, sim, a.refresh)

  // The first use of B revokes A's row: access token revoked, refresh token invalid_grant.
  t.is((await apiStatus(sim, b.access)).status, 200)
  t.deepEqual(await apiStatus(sim, a.access), { status: 401, wwwAuthenticate: REVOKED })
  const reused = await refreshWith(sim, a.refresh)
  t.is(reused.res.status, 400)
  t.deepEqual(reused.body, { error: 'invalid_grant', error_description: INVALID_GRANT })

  // C, minted from A but never used, stayed valid and refreshable.
  t.is((await apiStatus(sim, c.access)).status, 200)
  t.is((await refreshWith(sim, c.refresh)).res.status, 200)
})

test('with revokePreviousOnUse off the old pair is revoked by the refresh itself', async (t) => {
  const sim = await startSim(t, { ...ROTATING, revokePreviousOnUse: false })
  const a = await login(sim)
  const b = await refreshed(t, sim, a.refresh)
  t.deepEqual(await apiStatus(sim, a.access), { status: 401, wwwAuthenticate: REVOKED })
  const reused = await refreshWith(sim, a.refresh)
  t.is(reused.res.status, 400)
  t.is(reused.body.error, 'invalid_grant')
  t.is((await apiStatus(sim, b.access)).status, 200)
})

test('token info counts as a use of the new token', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  const b = await refreshed(t, sim, a.refresh)
  const info = await fetch(new URL('/oauth/token/info', sim.url), { headers: { authorization: `Bearer ${b.access}` } })
  t.is(info.status, 200)
  t.is((await apiStatus(sim, a.access)).status, 401)
})

test('a refresh may narrow the scope but not widen it', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  const narrower = await refreshWith(sim, a.refresh, { scope: 'public' })
  t.is(narrower.res.status, 200)
  t.is(narrower.body.scope, 'public')
  const wider = await refreshWith(sim, narrower.body.refresh_token as string, { scope: 'public redeploy' })
  t.is(wider.res.status, 400)
  t.deepEqual(wider.body, { error: 'invalid_scope', error_description: 'The requested scope is invalid, unknown, or malformed.' })
  t.is(wider.res.headers.get('www-authenticate'), bearerChallenge('invalid_scope', 'The requested scope is invalid, unknown, or malformed.'))
})

test('refresh errors: no client authentication is invalid_grant, a wrong secret invalid_client, no token invalid_request', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  const anonymous = await postToken(sim, { grant_type: 'refresh_token', refresh_token: a.refresh })
  t.is(anonymous.res.status, 400)
  t.is(anonymous.body.error, 'invalid_grant')
  const wrong = await refreshWith(sim, a.refresh, { client_secret: 'wrong' })
  t.is(wrong.res.status, 401)
  t.is(wrong.body.error, 'invalid_client')
  const missing = await postToken(sim, { grant_type: 'refresh_token', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
  t.deepEqual(missing.body, { error: 'invalid_request', error_description: 'Missing required parameter: refresh_token.' })
  const unknown = await refreshWith(sim, 'never-issued')
  t.deepEqual(unknown.body, { error: 'invalid_grant', error_description: INVALID_GRANT })
  // None of these used the token up.
  t.is((await refreshWith(sim, a.refresh)).res.status, 200)
})

test('HTTP Basic client authentication works for a refresh too', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  const { res } = await postToken(sim, { grant_type: 'refresh_token', refresh_token: a.refresh }, { basic: [CLIENT_ID, CLIENT_SECRET] })
  t.is(res.status, 200)
})

test('a public client refreshes with its client_id only', async (t) => {
  const sim = await startSim(t, { ...ROTATING, oauthClients: [{ clientId: 'cli', redirectUris: [CALLBACK] }] })
  const code = await obtainCode(sim, codeRequest({ client_id: 'cli' }))
  const { body } = await postToken(sim, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, client_id: 'cli' })
  const { res } = await postToken(sim, { grant_type: 'refresh_token', refresh_token: body.refresh_token as string, client_id: 'cli' })
  t.is(res.status, 200)
})

test('without refresh tokens (Cloud 66’s usual case) nothing can be refreshed', async (t) => {
  const sim = await startSim(t)
  const { body } = await redeem(sim, await obtainCode(sim, codeRequest()))
  t.is(body.refresh_token, undefined)
  t.is(body.expires_in, undefined)
  const attempt = await refreshWith(sim, body.access_token as string)
  t.is(attempt.res.status, 400)
  t.is(attempt.body.error, 'invalid_grant')
})

test('an access token expires after accessTokenTtlSeconds, strictly after, and then gets the expired 401', async (t) => {
  const clock = new FakeClock({ start: Date.UTC(2025, 0, 1) })
  const sim = await startSim(t, { accessTokenTtlSeconds: 1, clock })
  const { body } = await redeem(sim, await obtainCode(sim, codeRequest()))
  t.is(body.expires_in, 1)
  const token = body.access_token as string
  clock.advance(1000)
  t.is((await apiStatus(sim, token)).status, 200)
  clock.advance(1)
  const res = await fetch(new URL('/api/3/stacks', sim.url), { headers: { authorization: `Bearer ${token}` } })
  t.is(res.status, 401)
  t.is(await res.text(), '')
  t.is(res.headers.get('www-authenticate'), EXPIRED)
  t.is(res.headers.get('cache-control'), 'no-store')
  t.is(res.headers.get('pragma'), 'no-cache')
  t.is(res.headers.get('content-type'), 'text/html')
  t.is(res.headers.get('set-cookie'), null)
})

test('an expired token’s refresh token still works, and the new token lives as long as the old one did', async (t) => {
  const clock = new FakeClock({ start: Date.UTC(2025, 0, 1) })
  const sim = await startSim(t, { ...ROTATING, accessTokenTtlSeconds: 60, clock })
  const a = await login(sim)
  clock.advance(61_000)
  t.is((await apiStatus(sim, a.access)).wwwAuthenticate, EXPIRED)
  const { body } = await refreshWith(sim, a.refresh)
  t.is(body.expires_in, 60)
  t.is((await apiStatus(sim, body.access_token as string)).status, 200)
})

test('expireToken expires any token at once, including personal ones; revoked beats expired', async (t) => {
  const sim = await startSim(t, { tokens: { personal: ['public'], other: ['public'] } })
  t.is((await apiStatus(sim, 'personal')).status, 200)
  sim.expireToken('personal')
  t.deepEqual(await apiStatus(sim, 'personal'), { status: 401, wwwAuthenticate: EXPIRED })
  // An expired token never reaches the budget or the handler: the ping/auth check refuses it too.
  t.is((await apiStatus(sim, 'personal', '/api/3/ping/auth')).status, 401)
  t.is((await apiStatus(sim, 'personal', '/api/3/ping')).status, 200)

  sim.expireToken('other')
  sim.revokeToken('other')
  t.is((await apiStatus(sim, 'other')).wwwAuthenticate, REVOKED)
  // setToken makes a token fresh again.
  sim.setToken('personal', ['public'])
  t.is((await apiStatus(sim, 'personal')).status, 200)
})

test('revoking an issued access token through the simulator kills its refresh token too', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  sim.revokeToken(a.access)
  t.is((await apiStatus(sim, a.access)).wwwAuthenticate, REVOKED)
  t.is((await refreshWith(sim, a.refresh)).body.error, 'invalid_grant')
})

test('refreshes are counted by grant type', async (t) => {
  const sim = await startSim(t, ROTATING)
  const a = await login(sim)
  const b = await refreshed(t, sim, a.refresh)
  await refreshed(t, sim, b.refresh)
  t.is(sim.oauthCalls.token, 3)
  t.deepEqual(sim.oauthCalls.tokenByGrant, { authorization_code: 1, refresh_token: 2 })
})
