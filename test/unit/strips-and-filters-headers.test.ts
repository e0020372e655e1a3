// src/proxy/headers.ts, directly: which request headers are dropped before Cloud 66 (credentials,
// hop-by-hop fields, method overrides, who-is-calling headers, in every spelling), which response
// headers never reach the caller, and when a Location is rewritten to the proxy's own origin.
// The HTTP-level checks stay in test/proxy/forwards-request-headers and passes-responses-through.
import test from 'ava'
import type { IncomingHttpHeaders } from 'node:http'
import { SECURITY_HEADERS, filterResponseHeaders, rewriteLocation, stripRequestHeaders } from '../../src/proxy/headers.js'

/** What stripRequestHeaders leaves of `headers` (Node hands it lower-case names, underscores kept). */
function stripped(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy = { ...headers }
  stripRequestHeaders(copy)
  return copy
}

// ── request headers ──────────────────────────────────────────────────────────────────────────

const DROPPED: ReadonlyArray<readonly [why: string, names: readonly string[]]> = [
  ['a credential: the proxy brings its own', ['authorization', 'proxy-authorization', 'cookie', 'proxy_authorization']],
  [
    'a hop-by-hop field',
    ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'http2-settings', 'keep_alive', 'proxy_connection', 'http2_settings'],
  ],
  ['answered by the proxy itself', ['expect']],
  [
    'a method override',
    ['x-http-method-override', 'x-http-method', 'x-method-override', 'x_http_method_override', 'x_http_method', 'x_method_override', 'x-http_method-override'],
  ],
  [
    'a who-is-calling header',
    [
      'forwarded',
      'client-ip',
      'x-real-ip',
      'true-client-ip',
      'x-client-ip',
      'x-cluster-client-ip',
      'cf-connecting-ip',
      'fastly-client-ip',
      'client_ip',
      'x_real_ip',
      'true_client_ip',
      'x_client_ip',
      'x_cluster_client_ip',
      'cf_connecting_ip',
      'fastly_client_ip',
    ],
  ],
  ['a router override', ['x-original-url', 'x-rewrite-url', 'x_original_url', 'x_rewrite_url']],
  [
    'an X-Forwarded-* header, any name with that prefix',
    [
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'x-forwarded-port',
      'x-forwarded-user',
      'x-forwarded-prefix',
      'x-forwarded-ssl',
      'x-forwarded-email',
      'x-forwarded-anything-at-all',
      'x_forwarded_for',
      'x_forwarded_user',
      'x_forwarded_host',
      'x-forwarded_for',
      'x_forwarded-proto',
    ],
  ],
]

for (const [why, names] of DROPPED) {
  for (const name of names) {
    test(`request header ${name} is dropped (${why})`, (t) => {
      t.deepEqual(stripped({ [name]: 'caller-value', accept: 'application/json' }), { accept: 'application/json' })
    })
  }
}

const KEPT: IncomingHttpHeaders = {
  host: '127.0.0.1:8066',
  accept: 'application/json',
  'accept-encoding': 'gzip',
  'content-type': 'application/json',
  'content-length': '7',
  'transfer-encoding': 'chunked',
  'user-agent': 'cx/2.3.0 (linux; amd64)',
  'request-id': '6f1c0a52-3f0e-4b8e-9a55-0d1c1f7e2b11',
  'x-account': '4711',
  'x-activity-id': 'activity-42',
  'x-cxtoken': 'cx-dev-header',
  'if-none-match': 'W/"etag-1"',
  'x-forwarded': 'no dash after it, so not the X-Forwarded-* family',
  'x-authorization-hint': 'merely contains a dropped name',
}

for (const [name, value] of Object.entries(KEPT)) {
  test(`request header ${name} passes untouched`, (t) => {
    t.deepEqual(stripped({ [name]: value }), { [name]: value })
  })
}

test('Host, Content-Length and Transfer-Encoding are never deleted: the forwarder replaces Host, and Node frames the body by the other two', (t) => {
  const headers = stripped({ host: 'h', 'content-length': '3', 'transfer-encoding': 'chunked' })
  t.deepEqual(Object.keys(headers), ['host', 'content-length', 'transfer-encoding'])
})

test('one real cx request: everything it needs passes with its value, everything forbidden goes', (t) => {
  const headers: IncomingHttpHeaders = {
    ...KEPT,
    authorization: 'Bearer caller-secret-token',
    cookie: 'a=b',
    'x-forwarded-for': '198.51.100.1',
    x_forwarded_host: 'evil.example',
    forwarded: 'for=198.51.100.1',
    connection: 'close',
    'keep-alive': 'timeout=5',
  }
  t.deepEqual(stripped(headers), KEPT)
})

test('stripping changes the object it is given and returns nothing', (t) => {
  const headers: IncomingHttpHeaders = { cookie: 'a=b', accept: '*/*' }
  t.is(stripRequestHeaders(headers), undefined)
  t.deepEqual(headers, { accept: '*/*' })
})

// ── response headers ─────────────────────────────────────────────────────────────────────────

const UPSTREAM = 'https://app.cloud66.com'
const PUBLIC = 'http://127.0.0.1:8066'

/**
 * Filters `raw` and takes off the headers every proxied answer ends with (SECURITY_HEADERS,
 * checked on their own below), so each case compares only what came from upstream.
 */
const filter = (raw: readonly string[]) => {
  const result = filterResponseHeaders(raw, UPSTREAM, PUBLIC)
  const tail = result.headers.slice(-SECURITY_HEADERS.length)
  if (JSON.stringify(tail) !== JSON.stringify(SECURITY_HEADERS)) throw new Error(`the security headers are not last: ${JSON.stringify(result.headers)}`)
  return { ...result, headers: result.headers.slice(0, -SECURITY_HEADERS.length) }
}

test("every proxied answer ends with the proxy's own security headers, and the upstream's versions of them are dropped", (t) => {
  const raw = ['X-Content-Type-Options', 'whatever', 'Content-Security-Policy', 'default-src *', 'x-frame-options', 'ALLOWALL', 'Content-Type', 'text/html']
  t.deepEqual(filterResponseHeaders(raw, UPSTREAM, PUBLIC).headers, ['Content-Type', 'text/html', ...SECURITY_HEADERS])
  t.deepEqual(
    [...SECURITY_HEADERS],
    ['X-Content-Type-Options', 'nosniff', 'Content-Security-Policy', "sandbox; default-src 'none'; frame-ancestors 'none'", 'X-Frame-Options', 'DENY'],
  )
})

const DROPPED_RESPONSE: ReadonlyArray<readonly [name: string, value: string]> = [
  ['Connection', 'keep-alive'],
  ['connection', 'close'],
  ['Keep-Alive', 'timeout=60'],
  ['Proxy-Connection', 'keep-alive'],
  ['Transfer-Encoding', 'chunked'],
  ['TE', 'trailers'],
  ['Trailer', 'X-Checksum'],
  ['Upgrade', 'h2c'],
  ['Proxy-Authenticate', 'Basic realm="upstream"'],
  ['Set-Cookie', '_cloud66_session=secret; path=/; HttpOnly'],
  ['SET-COOKIE', 'other=1'],
  ['Access-Control-Allow-Origin', '*'],
  ['access-control-allow-credentials', 'true'],
  ['Access-Control-Allow-Private-Network', 'true'],
  ['ACCESS-CONTROL-EXPOSE-HEADERS', 'X-Secret'],
  ['Access-Control-Allow-Methods', 'DELETE'],
  ['Access-Control-Max-Age', '86400'],
]

for (const [name, value] of DROPPED_RESPONSE) {
  test(`response header ${name} never reaches the caller`, (t) => {
    t.deepEqual(filter([name, value, 'Content-Type', 'application/json']).headers, ['Content-Type', 'application/json'])
  })
}

const CONNECTION_LISTED: ReadonlyArray<readonly [connection: string, dropped: readonly string[]]> = [
  ['keep-alive, X-Upstream-Hop', ['X-Upstream-Hop']],
  ['X-Upstream-Hop', ['x-upstream-hop']],
  ['close, x-one ,X-Two', ['X-One', 'x-two']],
  ['X_Upstream_Hop', ['X-Upstream-Hop']],
  ['Keep-Alive', []],
]

for (const [connection, dropped] of CONNECTION_LISTED) {
  test(`with Connection: ${connection}, ${dropped.length === 0 ? 'no other header' : dropped.join(' and ')} is dropped too`, (t) => {
    const raw = ['Connection', connection, ...dropped.flatMap((n) => [n, 'hop-value']), 'X-Cloud66-Warning', 'end-to-end']
    t.deepEqual(filter(raw).headers, ['X-Cloud66-Warning', 'end-to-end'])
  })
}

test('a header named in any of several Connection headers is dropped', (t) => {
  const raw = ['Connection', 'X-First-Hop', 'X-First-Hop', 'a', 'Connection', 'X-Second-Hop', 'X-Second-Hop', 'b', 'Content-Type', 'text/plain']
  t.deepEqual(filter(raw).headers, ['Content-Type', 'text/plain'])
})

test('a header named in Connection is dropped wherever it stands, before or after the Connection header', (t) => {
  const raw = ['X-Hop', 'before', 'Connection', 'x-hop', 'X-Hop', 'after', 'Etag', '"1"']
  t.deepEqual(filter(raw).headers, ['Etag', '"1"'])
})

test('end-to-end response headers pass in their order, spelling and number, duplicates included', (t) => {
  const raw = [
    'Content-Type',
    'application/json; charset=utf-8',
    'ETag',
    'W/"abc"',
    'cache-control',
    'no-store',
    'Vary',
    'Accept',
    'Vary',
    'Origin',
    'X-Cloud66-Warning',
    'this token will be revoked soon',
    'Retry-After',
    '30',
    'WWW-Authenticate',
    'Bearer realm="Doorkeeper"',
    'X-Request-Id',
    'req-1',
  ]
  t.deepEqual(filter(raw).headers, raw)
})

const CONTENT_LENGTHS: ReadonlyArray<readonly [raw: readonly string[], length: number | undefined]> = [
  [['Content-Length', '2'], 2],
  [['content-length', '0'], 0],
  [['CONTENT-LENGTH', '1048576'], 1_048_576],
  [['Transfer-Encoding', 'chunked'], undefined],
  [[], undefined],
]

for (const [raw, length] of CONTENT_LENGTHS) {
  test(`the body length read from [${raw.join(': ')}] is ${String(length)}`, (t) => {
    const filtered = filter([...raw, 'Content-Type', 'text/plain'])
    t.is(filtered.contentLength, length)
    if (length !== undefined) t.deepEqual(filtered.headers.slice(0, 2), raw, 'Content-Length itself still reaches the caller')
  })
}

test('a Location on the upstream origin is rewritten while filtering, whatever the header name case', (t) => {
  t.deepEqual(filter(['LOCATION', `${UPSTREAM}/api/3/stacks.json`]).headers, ['LOCATION', `${PUBLIC}/api/3/stacks.json`])
  t.deepEqual(filter(['location', 'https://bucket.s3.amazonaws.com/x']).headers, ['location', 'https://bucket.s3.amazonaws.com/x'])
})

// ── Location ─────────────────────────────────────────────────────────────────────────────────

const LOCATIONS: ReadonlyArray<readonly [given: string, expected: string, why: string]> = [
  [`${UPSTREAM}/api/3/stacks`, `${PUBLIC}/api/3/stacks`, 'the upstream origin with a path'],
  [UPSTREAM, PUBLIC, 'the bare upstream origin'],
  [`${UPSTREAM}?page=2`, `${PUBLIC}?page=2`, 'the origin followed by a query'],
  [`${UPSTREAM}#top`, `${PUBLIC}#top`, 'the origin followed by a fragment'],
  ['HTTPS://APP.CLOUD66.COM/api/3/X?Sig=A%2Fb', `${PUBLIC}/api/3/X?Sig=A%2Fb`, 'the origin in upper case; the rest keeps its case'],
  ['https://App.Cloud66.com:443/api/3/x?Signature=a%252Fb|c', `${PUBLIC}/api/3/x?Signature=a%252Fb|c`, 'the default port spelled out, the rest byte for byte'],
  ['https://user@app.cloud66.com/api/3/x', `${PUBLIC}/api/3/x`, 'userinfo before the upstream host: still its origin'],
  ['https://ap%70.cloud66.com/x', `${PUBLIC}/x`, 'a percent-encoded host a URL parser reads as the upstream'],
  [`${UPSTREAM}\\@evil.example/`, `${PUBLIC}\\@evil.example/`, 'a backslash ends the authority, as browsers read it'],
  ['https://app.cloud66.com.evil.example/api/3/stacks', 'https://app.cloud66.com.evil.example/api/3/stacks', 'a look-alike host that starts with the upstream'],
  ['https://app.cloud66.com@evil.example/x', 'https://app.cloud66.com@evil.example/x', 'the upstream as userinfo of another host'],
  ['https://app.cloud66.com%2f@evil.example/x', 'https://app.cloud66.com%2f@evil.example/x', 'an encoded slash hiding another host'],
  ['https://evil.example\\@app.cloud66.com/', 'https://evil.example\\@app.cloud66.com/', 'another host before a backslash'],
  ['https://app.cloud66.com./x', 'https://app.cloud66.com./x', 'the upstream name with a trailing dot: another origin to a URL parser'],
  ['https://app.cloud66.com:4430/x', 'https://app.cloud66.com:4430/x', 'another port'],
  ['http://app.cloud66.com/x', 'http://app.cloud66.com/x', 'another scheme'],
  ['https://app.cloud66.com0/x', 'https://app.cloud66.com0/x', 'a longer host'],
  ['https://c66-sim-bucket.s3.amazonaws.com/x?Signature=a%252Fb', 'https://c66-sim-bucket.s3.amazonaws.com/x?Signature=a%252Fb', 'a presigned S3 URL'],
  ['//app.cloud66.com/x', '//app.cloud66.com/x', 'a scheme-relative URL'],
  ['/api/3/relative', '/api/3/relative', 'a relative path'],
  ['https://exa mple/', 'https://exa mple/', 'a URL no parser accepts'],
  ['', '', 'an empty value'],
]

for (const [given, expected, why] of LOCATIONS) {
  test(`Location ${JSON.stringify(given)} ${given === expected ? 'is left alone' : 'is rewritten'}: ${why}`, (t) => {
    t.is(rewriteLocation(given, UPSTREAM, PUBLIC), expected)
  })
}

test('a Location is rewritten to whichever public origin the caller used', (t) => {
  t.is(rewriteLocation(`${UPSTREAM}/api/3/stacks.json`, UPSTREAM, 'http://localhost:9000'), 'http://localhost:9000/api/3/stacks.json')
  t.is(rewriteLocation('http://127.0.0.1:4000/api/3/x', 'http://127.0.0.1:4000', 'https://gw.example'), 'https://gw.example/api/3/x')
})
