// A team member's journey on the gateway, in a real headless Chromium: the gateway's /-/ page over
// HTTPS, "Log in with Cloud 66", the simulator's consent page, back on /-/ as the member; a key made
// with the page's form and shown once, copied with its Copy button, used by the real curl; then
// revoked with its Revoke button, after which curl is refused. The gateway is the built CLI.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import test from 'ava'
import { launchChromium, watchProblems } from '../helpers/browser.js'
import { newSecret, startGateway, startGatewaySim, tlsFiles } from '../helpers/gateway-replicas.js'

const run = promisify(execFile)
/** Safety limit for one navigation or wait; the test waits for events, never for time. */
const NAV_MS = 20_000

/** The real curl with HTTP Basic (`-u me:c66p_…`, as the README shows), trusting the gateway's certificate. */
async function curlWithKey(caFile: string, url: string, key: string): Promise<{ status: number; body: string }> {
  const { stdout } = await run('/usr/bin/curl', ['-sS', '--cacert', caFile, '-u', `me:${key}`, '-w', '\n%{http_code}', url])
  const at = stdout.lastIndexOf('\n')
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) }
}

test('a member logs in on the gateway page, creates and copies a key that curl can use, and revokes it', async (t) => {
  const [sim, tls] = await Promise.all([startGatewaySim(t), tlsFiles(t)])
  const gateway = await startGateway(t, 'web', { upstream: sim.url, store: 'file', secret: newSecret(), tls })
  const browser = await launchChromium(t)
  // The gateway's certificate is self-signed; the clipboard is granted as a person would allow it.
  const context = await browser.newContext({ ignoreHTTPSErrors: true })
  t.teardown(() => context.close())
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway.origin })
  const page = await context.newPage()
  page.setDefaultTimeout(NAV_MS)
  const problems = await watchProblems(page)

  // Signed out: the page offers the login.
  await page.goto(`${gateway.origin}/-/`)
  await page.getByRole('link', { name: 'Log in with Cloud 66' }).click()
  await page.waitForURL((u) => u.origin === sim.url.origin && u.pathname === '/oauth/authorize')
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), 'Authorization required')
  await page.getByRole('button', { name: 'Authorize' }).click()
  await page.waitForURL(`${gateway.origin}/-/`)

  // Signed in as the Cloud 66 user who authorized (ada, id 1), with her token linked.
  t.is(await page.locator('#member-id').innerText(), 'cloud66:1')
  t.regex(await page.locator('#token-state').innerText(), /Cloud 66 token linked \(fingerprint sha256:/)

  // Create a key with the form: it is shown once, in #new-key.
  await page.getByLabel('Label').fill('laptop')
  await page.getByRole('button', { name: 'Create key' }).click()
  const shown = page.locator('#new-key')
  await shown.filter({ hasText: /^c66p_/ }).waitFor()
  const key = await shown.innerText()
  t.regex(key, /^c66p_[A-Za-z0-9_-]{43,}$/)
  const row = page.locator('#keys tbody tr', { hasText: 'laptop' })
  await row.waitFor()
  t.regex(await row.innerText(), /\bactive\b/)

  // Copy puts exactly the key on the clipboard.
  await page.getByRole('button', { name: 'Copy' }).click()
  await page.locator('#message', { hasText: 'Copied to the clipboard.' }).waitFor()
  t.is(await page.evaluate<string>('navigator.clipboard.readText()'), key)

  // The real curl, with the key as the Basic password: Cloud 66 answers, with ada's token, never the key.
  const stacksUrl = `${gateway.origin}/stacks.json`
  const before = sim.requests.length
  const ok = await curlWithKey(tls.cert, stacksUrl, key)
  t.is(ok.status, 200, ok.body)
  t.true(Array.isArray((JSON.parse(ok.body) as { response: unknown }).response))
  const upstream = sim.requests.slice(before)
  t.is(upstream.length, 1)
  t.is(sim.userOf(upstream[0]?.token ?? ''), 1)
  t.false(JSON.stringify(upstream[0]?.headers).includes(key))

  // Revoke it with its button: the row says so, and curl is refused.
  await row.getByRole('button', { name: 'Revoke' }).click()
  await page
    .locator('#keys tbody tr', { hasText: 'laptop' })
    .filter({ hasText: /revoked/ })
    .waitFor()
  t.is(await page.locator('#keys tbody tr', { hasText: 'laptop' }).getByRole('button', { name: 'Revoke' }).count(), 0)
  const refused = await curlWithKey(tls.cert, stacksUrl, key)
  t.is(refused.status, 401, refused.body)
  t.is((JSON.parse(refused.body) as { error: string }).error, 'invalid_key')
  t.is(sim.requests.length, before + 1, 'the refused request never reached Cloud 66')

  // Shown once: after a reload the key is nowhere on the page.
  await page.reload()
  await page.locator('#keys tbody tr', { hasText: 'laptop' }).waitFor()
  t.false((await page.content()).includes(key))

  t.deepEqual(problems.console, [])
  t.deepEqual(problems.pageErrors, [])
  t.deepEqual(await problems.cspViolations(), [])
})
