// tokenResponseFormat 'form': the `access_token=…&token_type=bearer` answer Cloud 66's docs
// describe (reference §1.7, §7 item 3), which a client must parse by its Content-Type.
import test from 'ava'
import { apiStatus, CLIENT_ID, CLIENT_SECRET, codeRequest, INVALID_GRANT, obtainCode, postToken, redeem, startSim } from '../helpers/oauth-sim.js'

test('a form-encoded token answer carries the same fields, token_type bearer, and still no-store', async (t) => {
  const sim = await startSim(t, { tokenResponseFormat: 'form' })
  const { res, body } = await redeem(sim, await obtainCode(sim, codeRequest()), {}, { accept: 'application/json' })
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'application/x-www-form-urlencoded; charset=utf-8')
  t.is(res.headers.get('cache-control'), 'no-store')
  t.is(res.headers.get('pragma'), 'no-cache')
  t.deepEqual(Object.keys(body), ['access_token', 'token_type', 'scope', 'created_at'])
  t.is(body.token_type, 'bearer')
  t.is(body.scope, 'public redeploy')
  t.regex(body.created_at as string, /^\d+$/)
  t.is((await apiStatus(sim, body.access_token as string)).status, 200)
})

test('the form-encoded answer is encoded as a form: spaces as +, in Doorkeeper’s field order', async (t) => {
  const sim = await startSim(t, { tokenResponseFormat: 'form', accessTokenTtlSeconds: 3600, issueRefreshTokens: true })
  const code = await obtainCode(sim, codeRequest({ scope: 'public redeploy admin' }))
  const res = await fetch(new URL('/oauth/token', sim.url), {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://127.0.0.1:8787/-/callback',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    }),
  })
  t.regex(await res.text(), /^access_token=[\w-]{43}&token_type=bearer&expires_in=3600&refresh_token=[\w-]{43}&scope=public\+redeploy\+admin&created_at=\d+$/)
})

test('errors stay Doorkeeper’s JSON when answers are form-encoded', async (t) => {
  const sim = await startSim(t, { tokenResponseFormat: 'form' })
  const { res, body } = await postToken(sim, {
    grant_type: 'authorization_code',
    code: 'nope',
    redirect_uri: 'x',
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
  })
  t.is(res.status, 400)
  t.is(res.headers.get('content-type'), 'application/json; charset=utf-8')
  t.deepEqual(body, { error: 'invalid_grant', error_description: INVALID_GRANT })
})
