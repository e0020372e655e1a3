// The login a person does, in a real headless Chromium: the proxy's status page, the simulator's
// Doorkeeper consent page, the callback, and the real curl binary through the proxy afterwards.
// Each test has its own simulator, proxy, browser and browser context (the simulator skips the
// consent page on a second login in one session).
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import test, { type ExecutionContext } from 'ava'
import type { Page } from 'playwright-core'
import type { Simulator } from '../../src/simulator/index.js'
import { LOCAL_CALLER } from '../../src/tokens/token-service.js'
import { freshPage, launchChromium, startProxyAtPublicUrl, watchProblems } from '../helpers/browser.js'
import { apiStatus, CLIENT_ID, CLIENT_SECRET, startSim } from '../helpers/oauth-sim.js'
import type { StartedProxy } from '../helpers/proxy.js'

// Two rules these journeys pin down (both found by this suite in a real browser, invisible to fetch):
// 1. Cloud 66's redirect back to GET /-/callback, and the callback's 303 to GET /-/, arrive with
//    Sec-Fetch-Site: cross-site (a redirect chain keeps that label); top-level navigations to those
//    two pages must pass the cross-site guard, or a browser login can never finish.
// 2. /-/ is served with `Referrer-Policy: same-origin`: with no-referrer Chromium sends
//    `Origin: null` with the page's own "Log out" form, which the Origin guard refuses.
const run = promisify(execFile)
const SCOPES = 'public redeploy'
/** Safety limit for one navigation; the tests wait for events, never for time. */
const NAV_MS = 20_000

interface Journey {
  readonly sim: Simulator
  readonly proxy: StartedProxy
  readonly page: Page
}

/** A simulator, a proxy with OAuth configured against it (no token anywhere yet), and a fresh page. */
async function setUp(t: ExecutionContext): Promise<Journey> {
  const sim = await startSim(t)
  const proxy = await startProxyAtPublicUrl(t, {
    upstream: sim.url,
    flags: { clientId: CLIENT_ID, scopes: SCOPES },
    env: { C66_CLIENT_SECRET: CLIENT_SECRET },
  })
  const browser = await launchChromium(t)
  const page = await freshPage(t, browser)
  page.setDefaultTimeout(NAV_MS)
  return { sim, proxy, page }
}

const tokenState = (page: Page) => page.locator('#token-state').innerText()

const bodyText = (page: Page) => page.locator('body').innerText()

/** `/-/` → "Log in with Cloud 66" → the simulator's consent page. */
async function openConsent({ sim, proxy, page }: Journey, t: ExecutionContext): Promise<void> {
  await page.goto(`${proxy.url}/-/`)
  t.regex(await tokenState(page), /No Cloud 66 token/)
  await page.getByRole('link', { name: 'Log in with Cloud 66' }).click()
  await page.waitForURL((u) => !(u.origin === proxy.url && u.pathname === '/-/'))
  if (!page.url().startsWith(`${sim.url.origin}/oauth/authorize?`)) {
    throw new Error(`"Log in with Cloud 66" did not lead to the consent page but to ${page.url()}: ${(await bodyText(page)).slice(0, 300)}`)
  }
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), 'Authorization required')
}

/** Presses a consent button and waits until the browser is back on the proxy (wherever it landed). */
async function answerConsent({ proxy, page }: Journey, button: 'Authorize' | 'Deny'): Promise<void> {
  await page.getByRole('button', { name: button }).click()
  await page.waitForURL((u) => u.origin === proxy.url)
}

/** The whole login: consent page → Authorize → back on `/-/`. Returns the access token now stored. */
async function logIn(j: Journey, t: ExecutionContext): Promise<string> {
  await openConsent(j, t)
  await answerConsent(j, 'Authorize')
  const stored = await j.proxy.app.store.getToken(LOCAL_CALLER)
  if (stored === undefined) throw new Error(`the login ended on ${j.page.url()} with no token stored; the page says: ${(await bodyText(j.page)).slice(0, 300)}`)
  return stored.accessToken.reveal()
}

test('a person logs in through the status page and the consent page, and curl then works with the new token', async (t) => {
  const j = await setUp(t)
  const { sim, proxy, page } = j
  const problems = await watchProblems(page)
  const tokenCallsBefore = sim.oauthCalls.token

  const token = await logIn(j, t)

  // The code and state left the address bar: the callback answered with a redirect to the bare page.
  t.is(page.url(), `${proxy.url}/-/`)
  t.is(sim.oauthCalls.token, tokenCallsBefore + 1)
  t.not(token, 'sim-token')
  t.is(sim.userOf(token), 1, 'the token belongs to the user picked on the consent page (ada, the default)')
  const stored = await proxy.app.store.getToken(LOCAL_CALLER)
  const state = await tokenState(page)
  t.regex(state, /Token in use from store\b/)
  t.true(state.includes(`fingerprint ${stored?.accessToken.fingerprint ?? 'missing'}`), state)
  t.false(state.includes(token), 'the page never shows the token itself')
  const scopesRow = page.locator('tr', { has: page.locator('th', { hasText: 'Scopes' }) })
  t.is(await scopesRow.locator('td').innerText(), SCOPES)
  t.true(await page.getByRole('button', { name: 'Log out' }).isVisible())

  // A person's next step: the real curl, no token of its own, through the proxy.
  const before = sim.requests.length
  const { stdout } = await run('/usr/bin/curl', ['-sS', '--fail-with-body', `${proxy.url}/stacks.json`])
  const body = JSON.parse(stdout) as { response: unknown[]; count: number }
  t.true(Array.isArray(body.response))
  t.is(typeof body.count, 'number')
  const upstream = sim.requests.slice(before).filter((r) => r.url.startsWith('/api/3/stacks'))
  t.is(upstream.length, 1)
  t.is(upstream[0]?.token, token, 'the simulator saw the token the login just issued')

  // What the person saw, as a picture (kept in a temp dir, never committed).
  const dir = await mkdtemp(join(tmpdir(), 'c66-proxy-shot-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const shot = join(dir, 'logged-in.png')
  await page.screenshot({ path: shot, fullPage: true })
  const png = await readFile(shot)
  t.true(png.length > 1000, `screenshot has ${png.length} bytes`)
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

  t.deepEqual(problems.console, [])
  t.deepEqual(problems.pageErrors, [])
  t.deepEqual(await problems.cspViolations(), [])
})

test('a person who denies consent sees that the login was cancelled, and no token is stored', async (t) => {
  const j = await setUp(t)
  const { sim, proxy, page } = j
  await openConsent(j, t)
  const tokenCallsBefore = sim.oauthCalls.token

  await answerConsent(j, 'Deny')

  t.is(new URL(page.url()).pathname, '/-/callback')
  const text = await bodyText(page)
  t.regex(text, /^Login cancelled$/m, text)
  t.regex(text, /denied|declined|cancel/i)
  t.is(await page.getByRole('link', { name: 'Try logging in again' }).count(), 1)
  t.is(sim.oauthCalls.token, tokenCallsBefore, 'no code was redeemed')
  t.is(await proxy.app.store.getToken(LOCAL_CALLER), undefined)

  await page.goto(`${proxy.url}/-/`)
  t.regex(await tokenState(page), /No Cloud 66 token/)
  t.is(await page.getByRole('button', { name: 'Log out' }).count(), 0)
})

test('a person who logs out is back on the status page without a token, and Cloud 66 revoked it', async (t) => {
  const j = await setUp(t)
  const { sim, proxy, page } = j
  const token = await logIn(j, t)
  t.is((await apiStatus(sim, token)).status, 200, 'the new token works before logging out')
  const revokesBefore = sim.oauthCalls.revoke

  // The next document to load is whatever the form submission ends on (the same URL, /-/, on success).
  const [logoutAnswer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${proxy.url}/-/logout`),
    page.waitForEvent('load'),
    page.getByRole('button', { name: 'Log out' }).click(),
  ])
  t.is(logoutAnswer.status(), 303, `the CSRF-protected form was accepted; the browser shows: ${(await bodyText(page)).slice(0, 300)}`)

  t.is(page.url(), `${proxy.url}/-/`)
  t.regex(await tokenState(page), /No Cloud 66 token/)
  t.is(await page.getByRole('button', { name: 'Log out' }).count(), 0)
  t.true(await page.getByRole('link', { name: 'Log in with Cloud 66' }).isVisible())
  t.is(await proxy.app.store.getToken(LOCAL_CALLER), undefined)
  t.is(sim.oauthCalls.revoke, revokesBefore + 1)
  const revokeCall = sim.requests.filter((r) => r.method === 'POST' && r.url === '/oauth/revoke')
  t.is(revokeCall.length, 1)
  t.is((await apiStatus(sim, token)).status, 401, 'the old token no longer works at Cloud 66')
})

test('the "Log in with Cloud 66" button takes the browser to the consent page without tripping the page\'s own CSP', async (t) => {
  const j = await setUp(t)
  const problems = await watchProblems(j.page)

  await openConsent(j, t)

  // What the browser carried to Cloud 66: the callback on the address it uses for the proxy, PKCE S256.
  const asked = new URL(j.page.url()).searchParams
  t.is(asked.get('redirect_uri'), `${j.proxy.url}/-/callback`)
  t.is(asked.get('client_id'), CLIENT_ID)
  t.is(asked.get('scope'), SCOPES)
  t.is(asked.get('code_challenge_method'), 'S256')
  t.is(j.sim.oauthCalls.authorize, 1)
  t.true(await j.page.getByRole('button', { name: 'Authorize' }).isVisible())
  t.deepEqual(problems.console, [])
  t.deepEqual(problems.pageErrors, [])
})

test('the status page is strict: a default-src none policy, no script, and nothing for Chromium to complain about', async (t) => {
  const { proxy, page } = await setUp(t)
  const problems = await watchProblems(page)

  const res = await page.goto(`${proxy.url}/-/`)
  if (res === null) throw new Error('no response for /-/')
  t.is(res.status(), 200)
  const csp = res.headers()['content-security-policy'] ?? ''
  t.regex(csp, /(^|;)\s*default-src 'none'\s*(;|$)/)
  t.regex(csp, /frame-ancestors 'none'/)
  t.regex(csp, /form-action 'self'/)
  const html = await res.text()
  t.notRegex(html, /<script\b/i)
  t.notRegex(html, /\b(src|href)="(https?:)?\/\//i, 'no third-party assets or links')
  t.true(await page.getByRole('link', { name: 'Log in with Cloud 66' }).isVisible())

  // The page's own stylesheet is allowed by its hash and applied (48rem = 768px at 16px).
  t.is(await page.evaluate<string>('getComputedStyle(document.body).maxWidth'), '768px')
  t.deepEqual(problems.console, [])
  t.deepEqual(problems.pageErrors, [])
  t.deepEqual(await problems.cspViolations(), [])
})
