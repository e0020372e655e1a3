// A real headless Chromium (Debian's `chromium`, driven through playwright-core) and a proxy whose
// public URL is known before it starts, so the OAuth redirect URI `<public>/-/callback` names the
// very port the browser talks to.
import { constants } from 'node:fs'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { chromium, type Browser, type Page } from 'playwright-core'
import { loadConfig } from '../../src/config/load.js'
import { startOnChosenPort, type ProxyOptions, type StartedProxy } from './proxy.js'

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

/** Without the background-networking flags Chromium's own connections are refused on a closed machine. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const INSTALL_HINT = 'install it with `apt-get install -y chromium` (or point CHROMIUM_PATH at a Chromium binary)'

/**
 * Launches headless Chromium and closes it when the test ends. A missing browser fails the test
 * with the command that installs it: the browser journeys are never skipped.
 */
export async function launchChromium(t: ExecutionContext): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK)
  } catch {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: ${INSTALL_HINT}`)
  }
  let browser: Browser
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM_PATH} did not start (${(err as Error).message.split('\n', 1)[0]}); ${INSTALL_HINT}`, { cause: err })
  }
  t.teardown(() => browser.close())
  return browser
}

/** A page in a fresh browser context (its own cookies), closed when the test ends. */
export async function freshPage(t: ExecutionContext, browser: Browser): Promise<Page> {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  return context.newPage()
}

/** What a page reported while it was open: console errors and warnings, uncaught errors, CSP violations. */
export interface PageProblems {
  readonly console: string[]
  readonly pageErrors: string[]
  /** `securitypolicyviolation` events, as "directive blocked-uri". */
  cspViolations(): Promise<string[]>
}

/**
 * Starts recording what `page` complains about. CSP violations are caught by a listener that the
 * browser installs in every document before the page's own content (init scripts are not subject
 * to the page's CSP).
 */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const consoleLines: string[] = []
  const pageErrors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  // A string, not a function: this runs in the page, and the test project has no DOM types.
  await page.addInitScript(`window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI));`)
  return {
    console: consoleLines,
    pageErrors,
    cspViolations: () => page.evaluate<string[]>('[...(window.__cspViolations ?? [])]'),
  }
}

/**
 * Like `startProxy`, but listening on a port chosen beforehand so that `publicUrl` can be
 * `http://127.0.0.1:<port>` (the simulator accepts any 127.x redirect URI). Another test may grab
 * the port between choosing and binding it: then a new port is chosen.
 */
export async function startProxyAtPublicUrl(t: ExecutionContext, options: ProxyOptions): Promise<StartedProxy> {
  const dataDir = await mkdtemp(join(tmpdir(), 'c66-proxy-browser-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const started = await startOnChosenPort(
    t,
    (port) =>
      loadConfig({
        flags: {
          logLevel: 'debug',
          upstream: String(options.upstream).replace(/\/$/, ''),
          dataDir,
          ...options.flags,
          listen: `127.0.0.1:${port}`,
          publicUrl: `http://127.0.0.1:${port}`,
        },
        env: { HOME: '/nonexistent-c66-proxy-test-home', ...options.env },
      }),
    options.io,
  )
  return { ...started, url: `http://127.0.0.1:${started.port}` }
}
