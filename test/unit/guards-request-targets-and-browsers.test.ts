// src/http/guards.ts, directly: which request targets are refused before anything else (forms,
// methods, paths that could hide another path from Cloud 66's router), and the browser rules:
// the Host must name the proxy, and a foreign Origin or a cross-site Sec-Fetch-Site is refused.
// The HTTP-level checks stay in test/http (request-target-forms, path-normalisation-attacks,
// host-header-allowlist, origin-and-fetch-site, published-on-another-port, loopback-only).
import test from 'ava'
import type { IncomingHttpHeaders } from 'node:http'
import {
  allowedHostHeaders,
  checkBrowserRules,
  checkHostPresent,
  checkRemoteAddress,
  checkRequestTarget,
  isNavigationToOwnPage,
  pathOf,
  splitHostEntry,
} from '../../src/http/guards.js'

// ── request targets ──────────────────────────────────────────────────────────────────────────

type Refusal = readonly [status: number, code: string, reason: string]

const METHOD: Refusal = [405, 'method_not_allowed', 'method']
const ASTERISK: Refusal = [400, 'invalid_request_target', 'asterisk_form']
const ABSOLUTE: Refusal = [400, 'invalid_request_target', 'absolute_form']
const FRAGMENT: Refusal = [400, 'invalid_request_target', 'fragment']
const BACKSLASH: Refusal = [400, 'invalid_path', 'backslash']
const ENCODED_SLASH: Refusal = [400, 'invalid_path', 'encoded_slash']
const CONTROL: Refusal = [400, 'invalid_path', 'control_char']
const EMBEDDED_URL: Refusal = [400, 'invalid_path', 'embedded_url']
const EMPTY_SEGMENT: Refusal = [400, 'invalid_path', 'empty_segment']
const DOT_SEGMENT: Refusal = [400, 'invalid_path', 'dot_segment']

const REFUSED_TARGETS: ReadonlyArray<readonly [method: string, target: string, refusal: Refusal]> = [
  ['CONNECT', 'app.cloud66.com:443', METHOD],
  ['TRACE', '/api/3/stacks', METHOD],
  ['TRACK', '/api/3/stacks', METHOD],
  ['TRACE', '/-/healthz', METHOD],
  ['OPTIONS', '*', ASTERISK],
  ['GET', 'http://127.0.0.1:8066/stacks', ABSOLUTE],
  ['GET', 'https://app.cloud66.com/api/3/stacks', ABSOLUTE],
  ['GET', 'app.cloud66.com:443', ABSOLUTE],
  ['GET', '', ABSOLUTE],
  ['GET', '/api/3/accounts/otp#anything', FRAGMENT],
  ['GET', '/api/3/stacks/x#/../../accounts/otp', FRAGMENT],
  ['GET', '/stacks?x=1#frag', FRAGMENT],
  // dot-segments, raw and percent-encoded
  ['GET', '/api/3/stacks/../accounts/otp', DOT_SEGMENT],
  ['GET', '/./x', DOT_SEGMENT],
  ['GET', '/api/3/stacks/..', DOT_SEGMENT],
  ['GET', '/api/3/stacks/./servers', DOT_SEGMENT],
  ['GET', '/api/3/stacks/%2e%2e/accounts/otp', DOT_SEGMENT],
  ['GET', '/api/3/stacks/%2E%2E/accounts/otp', DOT_SEGMENT],
  ['GET', '/api/3/stacks/.%2E/accounts/otp', DOT_SEGMENT],
  ['GET', '/api/3/stacks/%2e./accounts/otp', DOT_SEGMENT],
  ['GET', '/%2e/stacks', DOT_SEGMENT],
  ['GET', '/..?x=1', DOT_SEGMENT],
  // backslashes, raw and encoded
  ['GET', '/api/3/stacks\\..\\accounts\\otp', BACKSLASH],
  ['GET', '/api/3/stacks%5c..%5caccounts%5cotp', BACKSLASH],
  ['GET', '/api/3/stacks%5C..%5Caccounts', BACKSLASH],
  // encoded slashes
  ['GET', '/api/3/stacks%2f..%2faccounts%2fotp', ENCODED_SLASH],
  ['GET', '/api/3/stacks%2F..%2Faccounts', ENCODED_SLASH],
  // empty segments
  ['GET', '/api/3//stacks', EMPTY_SEGMENT],
  ['GET', '//stacks', EMPTY_SEGMENT],
  ['GET', '//evil.com/api/3/stacks', EMPTY_SEGMENT],
  // control characters, encoded or raw (Node's parser refuses most raw ones before this)
  ['GET', '/api/3/stacks%00', CONTROL],
  ['GET', '/api/3/stacks%0a', CONTROL],
  ['GET', '/api/3/stacks%0D%0AX-Injected:%201', CONTROL],
  ['GET', '/api/3/stacks%1b', CONTROL],
  ['GET', '/api/3/stacks%7f', CONTROL],
  ['GET', '/api/3/stacks%7F', CONTROL],
  ['GET', '/api/3/stacks\x01', CONTROL],
  ['GET', '/api/3/stacks\x7f', CONTROL],
  // a URL inside the path
  ['GET', '/x/https://evil.example/', EMBEDDED_URL],
  ['GET', '/redirect/HTTP:/evil.example', EMBEDDED_URL],
]

for (const [method, target, [status, code, reason]] of REFUSED_TARGETS) {
  test(`${method} ${JSON.stringify(target)} is refused with ${status} ${code} (${reason})`, (t) => {
    t.like(checkRequestTarget(method, target), { status, code, reason })
  })
}

const ACCEPTED_TARGETS: ReadonlyArray<readonly [method: string, target: string]> = [
  ['GET', '/api/3/stacks'],
  ['GET', '/stacks'],
  ['GET', '/'],
  ['OPTIONS', '/api/3/stacks'],
  ['DELETE', '/stacks/abc'],
  ['GET', '/api/3/stacks?q=../../accounts/otp'],
  ['GET', '/stacks?filter=a%2Fb%5Cc'],
  ['GET', '/stacks/abc/servers.json?page=2&x=..'],
  ['GET', '/stacks?next=https://app.cloud66.com/x'],
  ['GET', '/api/3/stacks/abc..def'],
  ['GET', '/api/3/stacks/.../servers'],
  ['GET', '/api/3/stacks/.hidden'],
  ['GET', '/api/3/stacks/'],
  ['GET', '/api/3/stacks.json'],
  ['GET', '/stacks/a%20b%7Bc%7D'],
  ['GET', '/stacks/%41'],
  ['GET', '/stacks/a:b'],
  ['GET', '/stacks/%2e%2e%2e'],
]

for (const [method, target] of ACCEPTED_TARGETS) {
  test(`${method} ${JSON.stringify(target)} passes the request-target rules`, (t) => {
    t.is(checkRequestTarget(method, target), undefined)
  })
}

const PATHS: ReadonlyArray<readonly [rawUrl: string, path: string]> = [
  ['/stacks?x=1', '/stacks'],
  ['/stacks', '/stacks'],
  ['/stacks?', '/stacks'],
  ['/?a=1?b=2', '/'],
]

for (const [rawUrl, path] of PATHS) {
  test(`the path of ${rawUrl} is ${path}`, (t) => {
    t.is(pathOf(rawUrl), path)
  })
}

const HOST_PRESENT: ReadonlyArray<readonly [host: string | undefined, version: string, refused: boolean]> = [
  ['localhost:8066', '1.1', false],
  [undefined, '1.1', true],
  [undefined, '1.0', false],
  ['', '1.1', false],
]

for (const [host, version, refused] of HOST_PRESENT) {
  test(`an HTTP/${version} request ${host === undefined ? 'without a Host' : `with Host ${JSON.stringify(host)}`} ${refused ? 'is refused with 400 missing_host' : 'passes the Host-presence rule'}`, (t) => {
    const result = checkHostPresent(host, version)
    if (refused) t.like(result, { status: 400, code: 'bad_request', reason: 'missing_host' })
    else t.is(result, undefined)
  })
}

// ── the Host allowlist ───────────────────────────────────────────────────────────────────────

const PORT = 8066

const ALLOWLISTS: ReadonlyArray<readonly [given: string, extra: readonly string[], publicUrl: string | undefined, hosts: readonly string[]]> = [
  ['the loopback names with the listen port', [], undefined, ['localhost:8066', '127.0.0.1:8066', '[::1]:8066']],
  ['a bare extra name with the listen port, lower-cased', ['Dev.Box'], undefined, ['localhost:8066', '127.0.0.1:8066', '[::1]:8066', 'dev.box:8066']],
  [
    'an extra name with its own port',
    ['127.0.0.1:9000', '[::1]:9000', '[fd00::1]'],
    undefined,
    ['localhost:8066', '127.0.0.1:8066', '[::1]:8066', '127.0.0.1:9000', '[::1]:9000', '[fd00::1]:8066'],
  ],
  ['a name on port 80, also without the port', ['dev.box:80'], undefined, ['localhost:8066', '127.0.0.1:8066', '[::1]:8066', 'dev.box:80', 'dev.box']],
  ['the host of an http public URL', [], 'http://127.0.0.1:9000', ['localhost:8066', '127.0.0.1:8066', '[::1]:8066', '127.0.0.1:9000']],
  [
    'an http public URL on the default port',
    [],
    'http://Proxy.Example/',
    ['localhost:8066', '127.0.0.1:8066', '[::1]:8066', 'proxy.example:80', 'proxy.example'],
  ],
  ['not the host of an https public URL (a front ends TLS there)', [], 'https://proxy.example', ['localhost:8066', '127.0.0.1:8066', '[::1]:8066']],
]

for (const [given, extra, publicUrl, hosts] of ALLOWLISTS) {
  test(`the Host allowlist holds ${given}`, (t) => {
    t.deepEqual([...allowedHostHeaders(PORT, extra, publicUrl === undefined ? undefined : new URL(publicUrl))], hosts)
  })
}

test('port 80 as the listen port lets in the loopback names without a port', (t) => {
  t.deepEqual([...allowedHostHeaders(80, [])], ['localhost:80', 'localhost', '127.0.0.1:80', '127.0.0.1', '[::1]:80', '[::1]'])
})

const ENTRIES: ReadonlyArray<readonly [entry: string, name: string, port: number | undefined]> = [
  ['dev.box', 'dev.box', undefined],
  ['dev.box:9000', 'dev.box', 9000],
  ['127.0.0.1:9000', '127.0.0.1', 9000],
  ['[::1]', '[::1]', undefined],
  ['[::1]:9000', '[::1]', 9000],
  ['[fd00::1]', '[fd00::1]', undefined],
]

for (const [entry, name, port] of ENTRIES) {
  test(`the --allowed-hosts entry ${entry} is the name ${name} on ${port === undefined ? 'the listen port' : `port ${port}`}`, (t) => {
    t.deepEqual(splitHostEntry(entry), { name, port })
  })
}

// ── Host, Origin and Sec-Fetch-Site ──────────────────────────────────────────────────────────

const HOSTS = allowedHostHeaders(PORT, ['dev.box'])
const rules = (headers: IncomingHttpHeaders, navigation = false) => checkBrowserRules(headers, HOSTS, 'http', headers.host, navigation)

const FORBIDDEN_HOST: Refusal = [403, 'forbidden_host', 'host']
const FORBIDDEN_ORIGIN: Refusal = [403, 'forbidden_origin', 'origin']
const CROSS_SITE: Refusal = [403, 'forbidden_origin', 'sec_fetch_site']

const BROWSER: ReadonlyArray<readonly [headers: IncomingHttpHeaders, refusal: Refusal | undefined]> = [
  // Host: only the proxy's own names, with its port (DNS rebinding)
  [{ host: 'localhost:8066' }, undefined],
  [{ host: '127.0.0.1:8066' }, undefined],
  [{ host: '[::1]:8066' }, undefined],
  [{ host: 'LocalHost:8066' }, undefined],
  [{ host: 'dev.box:8066' }, undefined],
  [{ host: 'DEV.Box:8066' }, undefined],
  [{}, FORBIDDEN_HOST],
  [{ host: '' }, FORBIDDEN_HOST],
  [{ host: '127.0.0.1:1' }, FORBIDDEN_HOST],
  [{ host: 'localhost' }, FORBIDDEN_HOST],
  [{ host: 'evil.com' }, FORBIDDEN_HOST],
  [{ host: 'evil.com:8066' }, FORBIDDEN_HOST],
  [{ host: 'localhost.:8066' }, FORBIDDEN_HOST],
  [{ host: '127.0.0.1.nip.io:8066' }, FORBIDDEN_HOST],
  [{ host: '0.0.0.0:8066' }, FORBIDDEN_HOST],
  [{ host: 'localhost6:8066' }, FORBIDDEN_HOST],
  [{ host: 'user@localhost:8066' }, FORBIDDEN_HOST],
  [{ host: '[::ffff:127.0.0.1]:8066' }, FORBIDDEN_HOST],
  [{ host: '2130706433:8066' }, FORBIDDEN_HOST],
  [{ host: '127.1:8066' }, FORBIDDEN_HOST],
  [{ host: 'localhost.evil.com:8066' }, FORBIDDEN_HOST],
  [{ host: 'dev.box:8066.evil.com' }, FORBIDDEN_HOST],
  [{ host: 'evil.com', origin: 'http://evil.com', 'sec-fetch-site': 'cross-site' }, FORBIDDEN_HOST],
  // Origin: absent, or the proxy's own (http) origin
  [{ host: 'localhost:8066', origin: 'http://localhost:8066' }, undefined],
  [{ host: 'localhost:8066', origin: 'http://127.0.0.1:8066' }, undefined],
  [{ host: 'localhost:8066', origin: 'http://[::1]:8066' }, undefined],
  [{ host: 'localhost:8066', origin: 'HTTP://LOCALHOST:8066' }, undefined],
  [{ host: 'localhost:8066', origin: 'http://dev.box:8066' }, undefined],
  [{ host: 'localhost:8066', origin: 'http://evil.com' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'null' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: '' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'https://localhost:8066' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'http://localhost:1' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'http://localhost' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'http://localhost:8066.evil.com' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'http://localhost:8066/' }, FORBIDDEN_ORIGIN],
  [{ host: 'localhost:8066', origin: 'http://evil.com', 'sec-fetch-site': 'cross-site' }, FORBIDDEN_ORIGIN],
  // Sec-Fetch-Site: only the browser's own-site tokens, in any case
  [{ host: 'localhost:8066', 'sec-fetch-site': 'same-origin' }, undefined],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'none' }, undefined],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'Same-Origin' }, undefined],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'NONE' }, undefined],
  [{ host: 'localhost:8066', origin: 'http://localhost:8066', 'sec-fetch-site': 'same-origin' }, undefined],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'cross-site' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'same-site' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'Cross-Site' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'CROSS-SITE' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'Same-Site' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'none, cross-site' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'cross-site, none' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'same-origin, same-site' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': 'bogus' }, CROSS_SITE],
  [{ host: 'localhost:8066', 'sec-fetch-site': '' }, CROSS_SITE],
  [{ host: 'localhost:8066', origin: 'http://localhost:8066', 'sec-fetch-site': 'cross-site' }, CROSS_SITE],
]

const describe = (headers: IncomingHttpHeaders) =>
  Object.keys(headers).length === 0
    ? 'no headers'
    : Object.entries(headers)
        .map(([n, v]) => `${n}: ${JSON.stringify(v)}`)
        .join(', ')

for (const [headers, refusal] of BROWSER) {
  const title = refusal === undefined ? 'passes the browser rules' : `is refused with ${refusal[0]} ${refusal[1]} (${refusal[2]})`
  test(`a request with ${describe(headers)} ${title}`, (t) => {
    const result = rules(headers)
    if (refusal === undefined) {
      t.is(result, undefined)
      return
    }
    const [status, code, reason] = refusal
    t.like(result, { status, code, reason })
  })
}

test('the gateway checks Origin against its https origin', (t) => {
  const hosts = new Set(['gw.example:443', 'gw.example'])
  const gateway = (origin: string) => checkBrowserRules({ host: 'gw.example', origin }, hosts, 'https')
  t.is(gateway('https://gw.example'), undefined)
  t.like(gateway('http://gw.example'), { code: 'forbidden_origin' })
})

test('a trusted front may name the host the caller addressed (X-Forwarded-Host), which then replaces Host', (t) => {
  t.is(checkBrowserRules({ host: '10.0.0.5:8066' }, HOSTS, 'http', 'dev.box:8066'), undefined)
  t.like(checkBrowserRules({ host: 'dev.box:8066' }, HOSTS, 'http', 'evil.com'), { code: 'forbidden_host' })
})

const NAVIGATIONS: ReadonlyArray<readonly [site: string, navigation: boolean, refusal: Refusal | undefined]> = [
  ['cross-site', true, undefined],
  ['same-site', true, undefined],
  ['Cross-Site', true, CROSS_SITE],
  ['cross-site, none', true, CROSS_SITE],
  ['cross-site', false, CROSS_SITE],
]

for (const [site, navigation, refusal] of NAVIGATIONS) {
  test(`Sec-Fetch-Site ${JSON.stringify(site)} ${navigation ? 'on a navigation to an own page' : 'elsewhere'} ${refusal === undefined ? 'passes' : 'is refused'}`, (t) => {
    const result = rules({ host: 'localhost:8066', 'sec-fetch-site': site }, navigation)
    if (refusal === undefined) {
      t.is(result, undefined)
      return
    }
    t.like(result, { code: refusal[1], reason: refusal[2] })
  })
}

const NAVIGATE: IncomingHttpHeaders = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }

const OWN_PAGES: ReadonlyArray<readonly [method: string, path: string, headers: IncomingHttpHeaders, navigation: boolean]> = [
  ['GET', '/-/', NAVIGATE, true],
  ['HEAD', '/-/', NAVIGATE, true],
  ['GET', '/-/callback', NAVIGATE, true],
  ['POST', '/-/', NAVIGATE, false],
  ['GET', '/-/login', NAVIGATE, false],
  ['GET', '/-/logout', NAVIGATE, false],
  ['GET', '/stacks', NAVIGATE, false],
  ['GET', '/-/', { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'document' }, false],
  ['GET', '/-/', { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' }, false],
  ['GET', '/-/', {}, false],
]

for (const [method, path, headers, navigation] of OWN_PAGES) {
  test(`${method} ${path} with ${describe(headers)} ${navigation ? 'is' : 'is not'} a navigation to an own page`, (t) => {
    t.is(
      isNavigationToOwnPage(method, () => path, headers),
      navigation,
    )
  })
}

test('the path is only worked out for a browser navigation', (t) => {
  isNavigationToOwnPage('POST', () => t.fail('path computed for a POST') as never, NAVIGATE)
  isNavigationToOwnPage('GET', () => t.fail('path computed for an API call') as never, {})
  t.pass()
})

// ── the peer ─────────────────────────────────────────────────────────────────────────────────

const REMOTES: ReadonlyArray<readonly [remote: string | undefined, allowed: boolean]> = [
  ['127.0.0.1', true],
  ['::1', true],
  ['127.0.0.2', true],
  ['127.255.255.254', true],
  ['::ffff:127.0.0.1', true],
  ['0:0:0:0:0:0:0:1', true],
  ['10.0.0.1', false],
  ['192.168.1.20', false],
  ['::ffff:10.0.0.1', false],
  ['fe80::1', false],
  ['0.0.0.0', false],
  [undefined, false],
]

for (const [remote, allowed] of REMOTES) {
  test(`a peer at ${String(remote)} ${allowed ? 'may' : 'may not'} use the local proxy`, (t) => {
    const result = checkRemoteAddress(remote)
    if (allowed) {
      t.is(result, undefined)
      return
    }
    t.like(result, { status: 403, code: 'forbidden_remote', reason: 'remote' })
  })
}
