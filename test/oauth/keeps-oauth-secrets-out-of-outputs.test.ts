// Canary secrets through every OAuth path: the client secret, authorization codes, states, PKCE
// verifiers, access and refresh tokens (first, refreshed, replaced after a 401) and cookies must
// never show up in a log line (trace level, in-process and spawned CLI), a response the caller
// gets (bodies and headers, except a cookie in its own Set-Cookie and the state in the one
// redirect that must carry it), or a metric (peers.md §3 items 10-14, §4 item 6).
import { randomUUID } from 'node:crypto'
import test, { type ExecutionContext } from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { cliSession, dataDir } from '../helpers/cli-session.js'
import { closedPort, metricsText } from '../helpers/forwarding.js'
import { answerConsent, cookiePair, followToCallback, startLogin, startOAuthProxy, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import type { StartedProxy } from '../helpers/proxy.js'

const id = randomUUID()
const CLIENT_ID = `canary-client-${id.slice(0, 8)}`
const CLIENT_SECRET = `canary-client-secret-${id}`
const WRONG_SECRET = `canary-wrong-secret-${id}`
const CALLER_COOKIE = `canary-caller-cookie-${id}`

type Kind = 'log' | 'metric' | 'body' | 'header' | 'set-cookie' | 'location' | 'cli'

/** Everything the proxy and the CLI said, and every secret that went through them. */
class Ledger {
  readonly outputs: Array<{ where: string; kind: Kind; text: string }> = []
  readonly secrets = new Map<string, string>([
    ['client secret', CLIENT_SECRET],
    ['wrong client secret', WRONG_SECRET],
    ['caller cookie', CALLER_COOKIE],
  ])

  secret(name: string, value: string | undefined | null): void {
    if (value) this.secrets.set(`${name} #${this.secrets.size}`, value)
  }

  out(where: string, kind: Kind, text: string): void {
    this.outputs.push({ where, kind, text })
  }

  /** A caller's request to the proxy; everything in the answer is recorded. */
  async fetch(where: string, url: string, init: RequestInit = {}): Promise<{ res: Response; body: string }> {
    const headers = new Headers(init.headers)
    headers.append('cookie', `session=${CALLER_COOKIE}`)
    const res = await fetch(url, { redirect: 'manual', ...init, headers })
    const body = await res.text()
    this.out(where, 'body', body)
    for (const [name, value] of res.headers) {
      if (name === 'set-cookie') continue
      this.out(`${where} ${name}`, name === 'location' ? 'location' : 'header', value)
    }
    for (const line of res.headers.getSetCookie()) this.out(where, 'set-cookie', line)
    return { res, body }
  }

  /** Where each secret was found, minus the places it has to be. */
  leaks(allowed: (secret: string, kind: Kind, where: string) => boolean): string[] {
    const found: string[] = []
    for (const [name, value] of this.secrets) {
      for (const o of this.outputs) {
        if (o.text.includes(value) && !allowed(name, o.kind, o.where)) found.push(`${name} in ${o.kind} of ${o.where}`)
      }
    }
    return found
  }
}

/** Records the secrets of one login through the proxy and returns the callback answer. */
async function browserLogin(ledger: Ledger, proxy: StartedProxy, sim: Simulator, tag: string, button: 'Authorize' | 'Deny' = 'Authorize', cookieOf?: string) {
  const started = await ledger.fetch(`${tag} /-/login`, `${proxy.url}/-/login`)
  const authorize = new URL(started.res.headers.get('location') ?? '')
  const loginCookie = cookiePair(started.res, 'c66p_login')
  ledger.secret('state', authorize.searchParams.get('state'))
  ledger.secret('login cookie', loginCookie.slice('c66p_login='.length))
  const consent = await answerConsent(sim, authorize, button)
  ledger.secret('authorization code', consent.location.searchParams.get('code'))
  const callback = await ledger.fetch(`${tag} /-/callback`, consent.location.href, { headers: { cookie: cookieOf ?? loginCookie } })
  for (const r of sim.requests.filter((x) => x.url === '/oauth/token'))
    ledger.secret('pkce verifier', new URLSearchParams(r.body.toString()).get('code_verifier'))
  return { callback, consent, loginCookie }
}

async function recordStored(ledger: Ledger, proxy: StartedProxy, what: string): Promise<void> {
  const stored = await storedToken(proxy)
  ledger.secret(`${what} access token`, stored?.accessToken.reveal())
  ledger.secret(`${what} refresh token`, stored?.refreshToken?.reveal())
}

function assertNoLeaks(t: ExecutionContext, ledger: Ledger): void {
  t.true(ledger.secrets.size >= 12, `canaries collected: ${[...ledger.secrets.keys()].join(', ')}`)
  t.deepEqual(
    ledger.leaks((name, kind, where) => {
      // A cookie is set by its own Set-Cookie; the state must travel in the redirect to Cloud 66
      // (and in the URL `login --no-browser` prints for the user to open).
      if (name.startsWith('login cookie') || name.startsWith('csrf cookie')) {
        if (kind === 'set-cookie') return true
        // The double-submit CSRF token is, by design, also the hidden field of the page's form.
        if (name.startsWith('csrf cookie') && kind === 'body' && where.endsWith('/-/ page')) return true
      }
      if (name.startsWith('state') && ((kind === 'location' && where.includes('/-/login')) || (kind === 'cli' && where === 'login --no-browser stdout')))
        return true
      return false
    }),
    [],
  )
}

test('no OAuth secret reaches a log line, a response or a metric of the proxy, on any login or token path', async (t) => {
  const ledger = new Ledger()
  const clock = new FakeClock()
  const sim = await startSim(t, {
    oauthClients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [] }],
    accessTokenTtlSeconds: 3600,
    issueRefreshTokens: true,
    clock,
  })
  const proxy = await startOAuthProxy(t, sim, { flags: { clientId: CLIENT_ID, logLevel: 'trace' }, env: { C66_CLIENT_SECRET: CLIENT_SECRET }, io: { clock } })

  // Failed callbacks first: another attempt's cookie, Deny, a forged error.
  const other = await startLogin(proxy)
  ledger.secret('state', other.state)
  ledger.secret('login cookie', other.cookie.slice('c66p_login='.length))
  t.is((await browserLogin(ledger, proxy, sim, 'mismatched', 'Authorize', other.cookie)).callback.res.status, 400)
  t.is((await browserLogin(ledger, proxy, sim, 'denied', 'Deny')).callback.res.status, 400)

  // The login, then its replay.
  const login = await browserLogin(ledger, proxy, sim, 'login')
  t.is(login.callback.res.status, 303)
  await recordStored(ledger, proxy, 'first')
  t.is((await ledger.fetch('replayed callback', login.consent.location.href, { headers: { cookie: login.loginCookie } })).res.status, 400)

  // Use, proactive refresh, 401 and replay, revocation.
  t.is((await ledger.fetch('api', `${proxy.url}/stacks`)).res.status, 200)
  clock.advance(3600_000)
  t.is((await ledger.fetch('api after expiry', `${proxy.url}/stacks?page=2`)).res.status, 200)
  await recordStored(ledger, proxy, 'refreshed')
  sim.expireToken((await storedToken(proxy))?.accessToken.reveal() ?? '')
  t.is((await ledger.fetch('api after a 401', `${proxy.url}/stacks?page=3`)).res.status, 200)
  await recordStored(ledger, proxy, 'replaced')
  sim.revokeToken((await storedToken(proxy))?.accessToken.reveal() ?? '')
  t.is((await ledger.fetch('api after revocation', `${proxy.url}/stacks?page=4`)).res.status, 401)
  t.is((await ledger.fetch('api when login is required', `${proxy.url}/stacks?page=5`)).res.status, 401)

  // Log in again, look at every page of the proxy, log out.
  t.is((await browserLogin(ledger, proxy, sim, 'second login')).callback.res.status, 303)
  await recordStored(ledger, proxy, 'second login')
  const page = await ledger.fetch('/-/ page', `${proxy.url}/-/`)
  const csrf = cookiePair(page.res, 'c66p_csrf')
  ledger.secret('csrf cookie', csrf.slice('c66p_csrf='.length))
  await ledger.fetch('readyz', `${proxy.url}/-/readyz`)
  await ledger.fetch('healthz', `${proxy.url}/-/healthz`)
  const logout = await ledger.fetch('logout', `${proxy.url}/-/logout`, {
    method: 'POST',
    headers: { cookie: csrf, 'content-type': 'application/x-www-form-urlencoded' },
    body: `csrf=${csrf.slice('c66p_csrf='.length)}`,
  })
  t.is(logout.res.status, 303)
  t.is(sim.oauthCalls.revoke, 1)
  ledger.out('metrics', 'metric', await metricsText(proxy))

  // A proxy with a wrong client secret: Cloud 66 refuses it (invalid_client).
  const wrong = await startOAuthProxy(t, sim, { flags: { clientId: CLIENT_ID, logLevel: 'trace' }, env: { C66_CLIENT_SECRET: WRONG_SECRET } })
  t.is((await browserLogin(ledger, wrong, sim, 'wrong secret')).callback.res.status, 400)
  ledger.out('wrong-secret metrics', 'metric', await metricsText(wrong))

  for (const line of [...proxy.logs, ...wrong.logs]) ledger.out('proxy log', 'log', line)
  t.true(
    proxy.logs.some((l) => l.includes('"login completed"')),
    'the login was logged (by fingerprint)',
  )
  assertNoLeaks(t, ledger)
})

test('no OAuth secret reaches the output of `c66-proxy login`, `token show`, `status` or `logout`', async (t) => {
  const ledger = new Ledger()
  const sim = await startSim(t, { oauthClients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [] }], issueRefreshTokens: true })
  const dir = await dataDir(t)
  const port = await closedPort()
  const flags = ['--upstream', sim.url.origin, '--client-id', CLIENT_ID, '--data-dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'trace']
  const env = cleanEnv({ C66_CLIENT_SECRET: CLIENT_SECRET })

  const cli = cliSession(t, ['login', '--no-browser', ...flags], env)
  const authorize = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  ledger.secret('state', authorize.searchParams.get('state'))
  const consent = await answerConsent(sim, authorize, 'Authorize')
  ledger.secret('authorization code', consent.location.searchParams.get('code'))
  const landing = await followToCallback(consent.location)
  ledger.out('login landing page', 'body', landing.html)
  t.is((await cli.exited).code, 0, cli.stderr())
  ledger.out('login --no-browser stdout', 'cli', cli.stdout())
  ledger.out('login --no-browser stderr', 'cli', cli.stderr())
  const exchange = sim.requests.find((r) => r.url === '/oauth/token')
  ledger.secret('pkce verifier', new URLSearchParams(exchange?.body.toString() ?? '').get('code_verifier'))
  ledger.secret('access token', sim.requests.find((r) => r.url === '/oauth/token/info')?.token)

  for (const args of [['token', 'show'], ['token', 'show', '--json'], ['status'], ['status', '--json'], ['logout']]) {
    const result = await runCli([...args, ...flags], env)
    ledger.out(`${args.join(' ')} stdout`, 'cli', result.stdout)
    ledger.out(`${args.join(' ')} stderr`, 'cli', result.stderr)
  }
  t.is(sim.oauthCalls.revoke, 1)
  assertNoLeaksCli(t, ledger)
})

function assertNoLeaksCli(t: ExecutionContext, ledger: Ledger): void {
  t.true(ledger.secrets.size >= 7, `canaries collected: ${[...ledger.secrets.keys()].join(', ')}`)
  t.deepEqual(
    ledger.leaks((name, kind, where) => name.startsWith('state') && kind === 'cli' && where === 'login --no-browser stdout'),
    [],
  )
}
