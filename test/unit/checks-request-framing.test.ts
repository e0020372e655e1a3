// src/http/framing.ts, directly, on stand-ins for IncomingMessage: one Host; Transfer-Encoding,
// when present, exactly `chunked` on HTTP/1.1; no underscore spelling of a framing field; and a
// Connection header that names only hop-by-hop options. The HTTP-level checks stay in
// test/security/connection-cannot-unframe-a-body, test/security/smaller-leniencies and the
// framing harness (test/framing), which also covers what Node's own parser refuses.
import test from 'ava'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { checkFraming } from '../../src/http/framing.js'

/** Headers Node keeps only the first of when a request repeats them (the rest are discarded). */
const FIRST_ONLY = new Set(['host', 'content-length', 'content-type', 'user-agent', 'authorization'])

/**
 * What checkFraming reads of an IncomingMessage, built from raw `[name, value, …]` the way Node's
 * parser would: `headers` lower-cases the names, keeps the first of a few and joins the others' repeats with ", ".
 */
function request(raw: readonly string[], httpVersion = '1.1'): IncomingMessage {
  const headers: IncomingHttpHeaders = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase()
    const value = raw[i + 1] ?? ''
    const seen = headers[name]
    if (seen === undefined) headers[name] = value
    else if (!FIRST_ONLY.has(name)) headers[name] = `${String(seen)}, ${value}`
  }
  return { rawHeaders: [...raw], headers, httpVersion } as unknown as IncomingMessage
}

const HOST = ['Host', 'localhost:8066']

type Refusal = readonly [reason: string, message: RegExp]

const DUPLICATE_HOST: Refusal = ['duplicate_host', /only one Host header/]
const UNDERSCORE: Refusal = ['framing', /Content_Length and Transfer_Encoding are not accepted/]
const HTTP10_CHUNKED: Refusal = ['framing', /not accepted on an HTTP\/1\.0 request/]
const CODING: Refusal = ['framing', /The only Transfer-Encoding accepted is a single "chunked"/]
const connectionOption = (option: string): Refusal => [
  'connection_option',
  new RegExp(`may only name hop-by-hop options \\(close, keep-alive, upgrade, te, http2-settings\\), not "${option}"`),
]

const CASES: ReadonlyArray<readonly [what: string, raw: readonly string[], version: string, refusal: Refusal | undefined]> = [
  ['one Host', HOST, '1.1', undefined],
  ['no Host (the Host rules decide)', [], '1.1', undefined],
  ['two Host headers', [...HOST, 'Host', 'evil.example'], '1.1', DUPLICATE_HOST],
  ['the same Host twice', [...HOST, ...HOST], '1.1', DUPLICATE_HOST],
  ['Host and HOST', [...HOST, 'HOST', 'localhost:8066'], '1.1', DUPLICATE_HOST],
  ['two Host headers on HTTP/1.0', ['host', 'a', 'host', 'b'], '1.0', DUPLICATE_HOST],
  ['a name of four letters that is not Host', [...HOST, 'Date', 'x', 'Etag', 'y'], '1.1', undefined],

  ['Content_Length', [...HOST, 'Content_Length', '5'], '1.1', UNDERSCORE],
  ['content_length', [...HOST, 'content_length', '5'], '1.1', UNDERSCORE],
  ['CONTENT_LENGTH', [...HOST, 'CONTENT_LENGTH', '5'], '1.1', UNDERSCORE],
  ['Content_Length next to Content-Length', [...HOST, 'Content_Length', '5', 'Content-Length', '5'], '1.1', UNDERSCORE],
  ['Transfer_Encoding', [...HOST, 'Transfer_Encoding', 'chunked'], '1.1', UNDERSCORE],
  ['transfer_encoding', [...HOST, 'transfer_encoding', 'chunked'], '1.1', UNDERSCORE],
  ['Transfer_Encoding next to Transfer-Encoding', [...HOST, 'Transfer_Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], '1.1', UNDERSCORE],
  ['Content-Length', [...HOST, 'Content-Length', '5'], '1.1', undefined],
  ['an underscore in another name', [...HOST, 'X_Custom_Header', '1', 'Content_Type', 'text/plain'], '1.1', undefined],
  ['a longer name that merely starts with content_length', [...HOST, 'Content_Lengthy', '5'], '1.1', undefined],

  ['Transfer-Encoding: chunked on HTTP/1.1', [...HOST, 'Transfer-Encoding', 'chunked'], '1.1', undefined],
  ['Transfer-Encoding: Chunked', [...HOST, 'Transfer-Encoding', 'Chunked'], '1.1', undefined],
  ['Transfer-Encoding: " chunked "', [...HOST, 'Transfer-Encoding', ' chunked '], '1.1', undefined],
  ['Transfer-Encoding: chunked on HTTP/1.0', [...HOST, 'Transfer-Encoding', 'chunked'], '1.0', HTTP10_CHUNKED],
  ['Transfer-Encoding: gzip, chunked', [...HOST, 'Transfer-Encoding', 'gzip, chunked'], '1.1', CODING],
  ['Transfer-Encoding: identity', [...HOST, 'Transfer-Encoding', 'identity'], '1.1', CODING],
  ['Transfer-Encoding: chunked, chunked', [...HOST, 'Transfer-Encoding', 'chunked, chunked'], '1.1', CODING],
  ['two Transfer-Encoding headers', [...HOST, 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], '1.1', CODING],
  ['Transfer-Encoding: xchunked', [...HOST, 'Transfer-Encoding', 'xchunked'], '1.1', CODING],

  ['Connection: keep-alive', [...HOST, 'Connection', 'keep-alive'], '1.1', undefined],
  ['Connection: close', [...HOST, 'Connection', 'close'], '1.1', undefined],
  ['Connection: Keep-Alive', [...HOST, 'Connection', 'Keep-Alive'], '1.1', undefined],
  ['Connection: close, TE', [...HOST, 'Connection', 'close, TE'], '1.1', undefined],
  ['Connection: Upgrade, HTTP2-Settings', [...HOST, 'Connection', 'Upgrade, HTTP2-Settings'], '1.1', undefined],
  ['Connection: keep-alive, close', [...HOST, 'Connection', 'keep-alive, close'], '1.1', undefined],
  ['Connection: ",, close,"', [...HOST, 'Connection', ',, close,'], '1.1', undefined],
  ['two Connection headers of hop-by-hop options', [...HOST, 'Connection', 'close', 'Connection', 'te'], '1.1', undefined],
  ['Connection: content-length', [...HOST, 'Connection', 'content-length'], '1.1', connectionOption('content-length')],
  ['Connection: Content-Length', [...HOST, 'Connection', 'Content-Length'], '1.1', connectionOption('content-length')],
  ['Connection: close, Transfer-Encoding', [...HOST, 'Connection', 'close, Transfer-Encoding'], '1.1', connectionOption('transfer-encoding')],
  ['Connection: close, X-Hop-Secret', [...HOST, 'Connection', 'close, X-Hop-Secret'], '1.1', connectionOption('x-hop-secret')],
  ['Connection: authorization', [...HOST, 'Connection', 'authorization'], '1.1', connectionOption('authorization')],
  ['Connection: host', [...HOST, 'Connection', 'host'], '1.1', connectionOption('host')],
  [
    'a second Connection header naming an end-to-end field',
    [...HOST, 'Connection', 'keep-alive', 'Connection', 'content-length'],
    '1.1',
    connectionOption('content-length'),
  ],
]

for (const [what, raw, version, refusal] of CASES) {
  test(`${what}${version === '1.0' ? ' (HTTP/1.0)' : ''} ${refusal === undefined ? 'passes' : `is refused with 400 bad_request (${refusal[0]})`}`, (t) => {
    const result = checkFraming(request(raw, version))
    if (refusal === undefined) {
      t.is(result, undefined)
      return
    }
    const [reason, message] = refusal
    t.like(result, { status: 400, code: 'bad_request', reason })
    t.regex(result?.message ?? '', message)
  })
}

test('a refused Connection option is quoted in the message cut to 40 characters', (t) => {
  const long = `x-${'a'.repeat(100)}`
  const message = checkFraming(request([...HOST, 'Connection', long]))?.message ?? ''
  t.true(message.endsWith(`not ${JSON.stringify(long.slice(0, 40))}`), message)
})

test('checks come in order: a duplicate Host is reported before a bad Transfer-Encoding or Connection', (t) => {
  const raw = [...HOST, 'Transfer-Encoding', 'gzip', 'Connection', 'content-length', 'Host', 'x']
  t.like(checkFraming(request(raw)), { reason: 'duplicate_host' })
  t.like(checkFraming(request([...HOST, 'Transfer-Encoding', 'gzip', 'Connection', 'content-length'])), { reason: 'framing' })
})
