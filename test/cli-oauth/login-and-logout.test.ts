// `c66-proxy login` for a user with no proxy running (RFC 8252): a one-shot loopback listener on
// 127.0.0.1 at the --listen port (so the same registered redirect URI serves the proxy and the
// CLI), the authorize URL printed with --no-browser, the redirect received, the token stored, and
// the Cloud 66 user named. `--oob` takes the pasted code instead. `logout` revokes the token at
// /oauth/revoke with client authentication and deletes it. Each command reads its settings from
// flags, the environment or a --config file, exactly like `serve`.
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { Secret } from '../../src/secret.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { cliSession, dataDir, readStoredToken, seedToken } from '../helpers/cli-session.js'
import { closedPort } from '../helpers/forwarding.js'
import { answerConsent } from '../helpers/oauth-login.js'
import { apiStatus, CLIENT_ID, CLIENT_SECRET, startSim } from '../helpers/oauth-sim.js'

const clientEnv = (extra: Record<string, string> = {}) => cleanEnv({ C66_CLIENT_SECRET: CLIENT_SECRET, ...extra })

test('login --no-browser prints the authorize URL, takes the redirect on the --listen port, stores the token and names the user', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const port = await closedPort()
  const cli = cliSession(
    t,
    [
      'login',
      '--no-browser',
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      sim.url.origin,
      '--client-id',
      CLIENT_ID,
      '--data-dir',
      dir,
      '--scopes',
      'public redeploy',
    ],
    clientEnv(),
  )
  const printed = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  t.is(printed.origin, sim.url.origin)
  const redirect = new URL(printed.searchParams.get('redirect_uri') ?? '')
  t.is(`${redirect.origin}${redirect.pathname}`, `http://127.0.0.1:${port}/-/callback`, 'the loopback listener is on the --listen port')
  t.regex(redirect.search, /^\?k=[\w-]{24}$/, "the callback carries the listener's secret")
  t.is(printed.searchParams.get('scope'), 'public redeploy')
  t.is(printed.searchParams.get('code_challenge_method'), 'S256')
  t.truthy(printed.searchParams.get('state'))

  const consent = await answerConsent(sim, printed, 'Authorize', { user_id: '2' })
  t.is(`${consent.location.origin}${consent.location.pathname}`, `http://127.0.0.1:${port}/-/callback`)
  const landing = await fetch(consent.location)
  t.is(landing.status, 200)
  t.regex(await landing.text(), /Logged in/)
  t.is(landing.headers.get('cache-control'), 'no-store')
  t.is(landing.headers.get('referrer-policy'), 'no-referrer')

  const { code } = await cli.exited
  t.is(code, 0, cli.stderr())
  t.regex(cli.stdout(), /Logged in to http:\/\/127\.0\.0\.1:\d+ as Cloud 66 user 2 \(scopes: public redeploy; token fingerprint sha256:[0-9a-f]{12}\)/)

  const stored = await readStoredToken(dir)
  const token = stored?.accessToken.reveal() ?? ''
  t.is(sim.userOf(token), 2, 'the stored token is the user who approved')
  t.is(stored?.origin, 'oauth')
  t.false(cli.stdout().includes(token), 'the token is never printed')

  // `token show` reads the same store through the environment instead of --data-dir.
  const show = await runCli(['token', 'show', '--json'], cleanEnv({ C66_PROXY_DATA_DIR: dir }))
  t.is(show.code, 0, show.stderr)
  const shown = JSON.parse(show.stdout) as Record<string, unknown>
  t.is(shown['source'], 'store')
  t.is(shown['origin'], 'oauth')
  t.is(shown['scope'], 'public redeploy')
  t.is(shown['fingerprint'], stored?.accessToken.fingerprint)
  t.regex(String(shown['obtained_at']), /^\d{4}-\d\d-\d\dT/)
  t.is(shown['expires_at'], null, 'no expiry: null in JSON, as for every token (the text output says never)')
  t.false(show.stdout.includes(token), 'token show never prints the token')
  const human = await runCli(['token', 'show', '--data-dir', dir])
  t.regex(human.stdout, /fingerprint\s+sha256:[0-9a-f]{12}/)
  t.false(human.stdout.includes(token))
})

test('login refuses a redirect for another attempt and keeps waiting for its own', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const port = await closedPort()
  const cli = cliSession(
    t,
    ['login', '--no-browser', '--listen', `127.0.0.1:${port}`, '--upstream', sim.url.origin, '--client-id', CLIENT_ID, '--data-dir', dir],
    clientEnv(),
  )
  const printed = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  const consent = await answerConsent(sim, printed, 'Authorize')

  const forged = new URL(consent.location)
  forged.searchParams.set('state', 'not-the-state-of-this-login')
  const refused = await fetch(forged)
  t.is(refused.status, 400)
  t.regex(await refused.text(), /state mismatch/)
  t.is(sim.oauthCalls.token, 0, 'a forged redirect redeems nothing')

  t.is((await fetch(consent.location)).status, 200)
  t.is((await cli.exited).code, 0, cli.stderr())
  t.truthy(await readStoredToken(dir))
})

test('login says "cancelled" and stores nothing when Deny is pressed', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const port = await closedPort()
  const cli = cliSession(
    t,
    ['login', '--no-browser', '--listen', `127.0.0.1:${port}`, '--upstream', sim.url.origin, '--client-id', CLIENT_ID, '--data-dir', dir],
    clientEnv(),
  )
  const printed = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  const consent = await answerConsent(sim, printed, 'Deny')
  const landing = await fetch(consent.location)
  t.regex(await landing.text(), /Login cancelled/)
  const { code } = await cli.exited
  t.is(code, 1)
  t.regex(cli.stderr(), /login failed: You declined/)
  t.false(existsSync(join(dir, 'store.json')), 'no store was created')
  t.is(sim.oauthCalls.token, 0)
})

test('login --oob redeems the code pasted on standard input', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  // Upstream and data dir from the environment this time.
  const cli = cliSession(
    t,
    ['login', '--oob', '--no-browser', '--client-id', CLIENT_ID],
    clientEnv({ C66_PROXY_UPSTREAM: sim.url.origin, C66_PROXY_DATA_DIR: dir }),
  )
  const printed = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  t.is(printed.searchParams.get('redirect_uri'), 'urn:ietf:wg:oauth:2.0:oob')
  t.is(printed.searchParams.get('code_challenge_method'), 'S256')
  await cli.waitFor(/Code: /)

  // Cloud 66 shows the code on its own page (§9 item 8); the user copies it into the terminal.
  const consent = await answerConsent(sim, printed, 'Authorize')
  t.is(consent.location.pathname, '/oauth/authorize/native')
  const code = consent.location.searchParams.get('code') ?? ''
  cli.child.stdin.end(`${code}\n`)

  const { code: exitCode } = await cli.exited
  t.is(exitCode, 0, cli.stderr())
  t.regex(cli.stdout(), /Logged in to http:\/\/127\.0\.0\.1:\d+ as Cloud 66 user 1/)
  const exchange = sim.requests.find((r) => r.url === '/oauth/token')
  const fields = new URLSearchParams(exchange?.body.toString() ?? '')
  t.is(fields.get('redirect_uri'), 'urn:ietf:wg:oauth:2.0:oob')
  t.truthy(fields.get('code_verifier'), 'PKCE holds for the pasted code too')
  t.is(sim.userOf((await readStoredToken(dir))?.accessToken.reveal() ?? ''), 1)
})

test('login --oob with nothing pasted fails without calling Cloud 66 and stores nothing', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const result = await runCli(['login', '--oob', '--no-browser', '--client-id', CLIENT_ID, '--upstream', sim.url.origin, '--data-dir', dir], clientEnv(), '\n')
  t.is(result.code, 1)
  t.regex(result.stderr, /login failed: no code was pasted/)
  t.is(sim.oauthCalls.token, 0)
  t.false(existsSync(join(dir, 'store.json')))
})

test('login without a client id explains how to configure OAuth', async (t) => {
  const sim = await startSim(t)
  const result = await runCli(['login', '--no-browser', '--upstream', sim.url.origin, '--data-dir', await dataDir(t)])
  t.is(result.code, 2)
  t.regex(result.stderr, /C66_CLIENT_ID/)
  t.is(sim.oauthCalls.authorize, 0)
})

test('logout (settings from a --config file) revokes the token at Cloud 66 with client authentication and deletes it', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const issued = sim.issueToken(1, ['public'])
  await seedToken(dir, {
    accessToken: new Secret(issued.accessToken),
    refreshToken: undefined,
    tokenType: 'Bearer',
    scope: 'public',
    expiresAt: undefined,
    obtainedAt: Date.now(),
    origin: 'oauth',
  })
  t.is((await apiStatus(sim, issued.accessToken)).status, 200)
  const config = join(dir, 'proxy.json')
  await writeFile(config, JSON.stringify({ upstream: sim.url.origin, dataDir: dir, clientId: CLIENT_ID, listen: `127.0.0.1:${await closedPort()}` }))

  const result = await runCli(['logout', '--config', config], clientEnv())
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /token revoked at Cloud 66 and deleted/)
  t.is(sim.oauthCalls.revoke, 1)
  const revoke = sim.requests.find((r) => r.url === '/oauth/revoke')
  const fields = new URLSearchParams(revoke?.body.toString() ?? '')
  t.is(fields.get('token'), issued.accessToken)
  t.is(fields.get('client_id'), CLIENT_ID)
  t.is(fields.get('client_secret'), CLIENT_SECRET)
  t.is((await apiStatus(sim, issued.accessToken)).status, 401, 'Cloud 66 no longer accepts it')
  t.is(await readStoredToken(dir), undefined, 'deleted from the store')

  const status = await runCli(['status', '--config', config])
  t.is(status.code, 1)
  t.regex(status.stdout, /token:\s+none/)
  t.regex(status.stdout, /store\s+absent/)

  const again = await runCli(['logout', '--config', config], clientEnv())
  t.is(again.code, 0)
  t.regex(again.stdout, /nothing to log out/)
  t.is(sim.oauthCalls.revoke, 1)
})

test('logout of a personal access token deletes it without revoking (that is done in Cloud 66)', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const set = await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), 'personal-token-for-logout\n')
  t.is(set.code, 0, set.stderr)
  const result = await runCli(['logout', '--data-dir', dir, '--upstream', sim.url.origin, '--client-id', CLIENT_ID], clientEnv())
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /token deleted \(personal access tokens are revoked in Cloud 66/)
  t.is(sim.oauthCalls.revoke, 0)
  t.is(await readStoredToken(dir), undefined)
})
