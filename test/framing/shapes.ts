/**
 * Request shapes for the differential framing harness: every method × many ways of framing a
 * body (honest ones, and the ambiguous or obfuscated ones request-smuggling research lists) ×
 * Connection options. Each shape is the exact bytes sent to the proxy and what an honest reading
 * of them means, so the harness can compare what went in with what reached the upstream.
 */

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * The body every shape carries: a request of its own, so that a proxy which lets it escape its
 * framing makes the upstream see a DELETE nobody sent (the reproduction in issue 9).
 */
export const SMUGGLED = 'DELETE /api/3/stacks/abc HTTP/1.1\r\nX-Swallow: '

/**
 * `forward`: an honest request; the proxy must pass it on with exactly this body.
 * `refuse`: ambiguous or malformed framing; the proxy must answer 4xx and send nothing.
 * `either`: the RFCs allow both (e.g. identical duplicate Content-Lengths): refused, or forwarded
 * with exactly this body.
 */
export type Expect = 'forward' | 'refuse' | 'either'

export interface Shape {
  readonly name: string
  readonly method: string
  /** The request target sent to the proxy. */
  readonly target: string
  /** Header lines after Host, already joined with CRLF-free text; each becomes `line\r\n`. */
  readonly headerLines: readonly string[]
  readonly rawBody: Buffer
  /** The body an honest reading of the framing gives (what the upstream must receive). */
  readonly body: Buffer
  readonly expect: Expect
  /** HTTP version on the request line. */
  readonly version: '1.1' | '1.0'
}

interface Framing {
  readonly name: string
  readonly lines: readonly string[]
  readonly rawBody: string
  readonly body: string
  readonly expect: Expect
  readonly version?: '1.0'
}

const chunked = (s: string, ext = '', eol = '\r\n') => {
  const a = s.slice(0, 20)
  const b = s.slice(20)
  const size = (x: string) => Buffer.byteLength(x, 'latin1').toString(16)
  return `${size(a)}${ext}${eol}${a}${eol}${size(b)}${eol}${b}${eol}0${eol}${eol}`
}

const B = SMUGGLED
const N = Buffer.byteLength(B, 'latin1')
const CHUNKED = chunked(B)
const CN = Buffer.byteLength(CHUNKED, 'latin1')

/** Ways of framing (or failing to frame) the body. */
export const FRAMINGS: readonly Framing[] = [
  { name: 'no-body', lines: [], rawBody: '', body: '', expect: 'forward' },
  { name: 'content-length', lines: [`Content-Length: ${N}`], rawBody: B, body: B, expect: 'forward' },
  { name: 'content-length-zero', lines: ['Content-Length: 0'], rawBody: '', body: '', expect: 'forward' },
  { name: 'content-length-tab', lines: [`Content-Length:\t${N}`], rawBody: B, body: B, expect: 'forward' },
  { name: 'content-length-leading-zeros', lines: [`Content-Length: 000${N}`], rawBody: B, body: B, expect: 'either' },
  { name: 'content-length-plus', lines: [`Content-Length: +${N}`], rawBody: B, body: B, expect: 'refuse' },
  { name: 'content-length-negative', lines: ['Content-Length: -1'], rawBody: B, body: B, expect: 'refuse' },
  { name: 'content-length-space-before-colon', lines: [`Content-Length : ${N}`], rawBody: B, body: B, expect: 'refuse' },
  { name: 'content-length-duplicate-same', lines: [`Content-Length: ${N}`, `Content-Length: ${N}`], rawBody: B, body: B, expect: 'either' },
  { name: 'content-length-duplicate-differ', lines: [`Content-Length: ${N}`, 'Content-Length: 5'], rawBody: B, body: B, expect: 'refuse' },
  { name: 'content-length-list', lines: [`Content-Length: ${N}, ${N}`], rawBody: B, body: B, expect: 'either' },
  { name: 'content-length-underscore', lines: [`Content_Length: ${N}`, `Content-Length: ${N}`], rawBody: B, body: B, expect: 'refuse' },
  { name: 'content-length-nul', lines: [`Content-Length: ${N}\x00`], rawBody: B, body: B, expect: 'refuse' },
  { name: 'chunked', lines: ['Transfer-Encoding: chunked'], rawBody: CHUNKED, body: B, expect: 'forward' },
  { name: 'chunked-upper-case', lines: ['Transfer-Encoding: CHUNKED'], rawBody: CHUNKED, body: B, expect: 'either' },
  { name: 'chunked-tab', lines: ['Transfer-Encoding:\tchunked'], rawBody: CHUNKED, body: B, expect: 'either' },
  { name: 'chunked-extension', lines: ['Transfer-Encoding: chunked'], rawBody: chunked(B, ';name=value'), body: B, expect: 'either' },
  {
    name: 'chunked-trailer',
    lines: ['Transfer-Encoding: chunked', 'Trailer: X-Checksum'],
    rawBody: `${CHUNKED.slice(0, -2)}X-Checksum: 1\r\n\r\n`,
    body: B,
    expect: 'either',
  },
  { name: 'chunked-lf-only', lines: ['Transfer-Encoding: chunked'], rawBody: chunked(B, '', '\n'), body: B, expect: 'either' },
  { name: 'chunked-size-0x', lines: ['Transfer-Encoding: chunked'], rawBody: `0x${CHUNKED}`, body: B, expect: 'refuse' },
  { name: 'chunked-size-overflow', lines: ['Transfer-Encoding: chunked'], rawBody: `ffffffffffffffffff1\r\n${B}\r\n0\r\n\r\n`, body: B, expect: 'refuse' },
  { name: 'chunked-and-content-length', lines: [`Content-Length: ${CN}`, 'Transfer-Encoding: chunked'], rawBody: CHUNKED, body: B, expect: 'either' },
  { name: 'chunked-then-content-length', lines: ['Transfer-Encoding: chunked', `Content-Length: ${CN}`], rawBody: CHUNKED, body: B, expect: 'either' },
  { name: 'chunked-duplicate', lines: ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], rawBody: CHUNKED, body: B, expect: 'refuse' },
  { name: 'chunked-comma-x', lines: ['Transfer-Encoding: chunked, x'], rawBody: CHUNKED, body: B, expect: 'refuse' },
  { name: 'gzip-comma-chunked', lines: ['Transfer-Encoding: gzip, chunked'], rawBody: CHUNKED, body: B, expect: 'refuse' },
  { name: 'chunked-space-before-colon', lines: ['Transfer-Encoding : chunked', `Content-Length: ${CN}`], rawBody: CHUNKED, body: CHUNKED, expect: 'refuse' },
  { name: 'chunked-line-folding', lines: ['Transfer-Encoding:', ' chunked'], rawBody: CHUNKED, body: B, expect: 'refuse' },
  { name: 'chunked-vertical-tab', lines: ['Transfer-Encoding:\x0bchunked', `Content-Length: ${CN}`], rawBody: CHUNKED, body: CHUNKED, expect: 'refuse' },
  { name: 'chunked-quoted', lines: ['Transfer-Encoding: "chunked"'], rawBody: CHUNKED, body: B, expect: 'refuse' },
  { name: 'chunked-underscore', lines: ['Transfer_Encoding: chunked', `Content-Length: ${CN}`], rawBody: CHUNKED, body: CHUNKED, expect: 'refuse' },
  { name: 'identity-encoding', lines: ['Transfer-Encoding: identity', `Content-Length: ${N}`], rawBody: B, body: B, expect: 'refuse' },
  { name: 'http10-content-length', lines: [`Content-Length: ${N}`], rawBody: B, body: B, expect: 'forward', version: '1.0' },
  { name: 'http10-chunked', lines: ['Transfer-Encoding: chunked'], rawBody: CHUNKED, body: B, expect: 'refuse', version: '1.0' },
  { name: 'duplicate-host', lines: ['Host: evil.example', `Content-Length: ${N}`], rawBody: B, body: B, expect: 'refuse' },
  { name: 'expect-continue', lines: ['Expect: 100-continue', `Content-Length: ${N}`], rawBody: B, body: B, expect: 'forward' },
]

interface ConnectionOption {
  readonly name: string
  readonly lines: readonly string[]
  /** Naming a field that is not hop-by-hop must be refused. */
  readonly honest: boolean
}

/** Connection header values: the ones real clients send, and ones naming end-to-end fields. */
export const CONNECTIONS: readonly ConnectionOption[] = [
  { name: 'no-connection', lines: [], honest: true },
  { name: 'keep-alive', lines: ['Connection: keep-alive'], honest: true },
  { name: 'close', lines: ['Connection: close'], honest: true },
  { name: 'te-trailers', lines: ['Connection: TE', 'TE: trailers'], honest: true },
  { name: 'upgrade', lines: ['Connection: Upgrade', 'Upgrade: websocket'], honest: true },
  { name: 'names-content-length', lines: ['Connection: content-length'], honest: false },
  { name: 'names-Content-Length-mixed-case', lines: ['Connection: keep-alive, Content-Length'], honest: false },
  { name: 'names-transfer-encoding', lines: ['Connection: transfer-encoding'], honest: false },
  { name: 'names-host', lines: ['Connection: host'], honest: false },
  { name: 'names-authorization', lines: ['Connection: authorization'], honest: false },
  { name: 'names-content-type', lines: ['Connection: content-type'], honest: false },
  { name: 'names-two-headers', lines: ['Connection: close', 'Connection: content-length'], honest: false },
]

const framing = (name: string): Framing => {
  const f = FRAMINGS.find((x) => x.name === name)
  if (!f) throw new Error(name)
  return f
}

function shape(method: string, f: Framing, c: ConnectionOption, n: number): Shape {
  // With a Connection option that names an end-to-end field, nothing but a refusal is honest.
  const expect: Expect = c.honest ? f.expect : f.expect === 'forward' && f.rawBody === '' ? 'either' : 'refuse'
  return {
    name: `${method} ${f.name} ${c.name}`,
    method,
    target: `/shape/${n}.json`,
    headerLines: [...c.lines, ...f.lines],
    rawBody: Buffer.from(f.rawBody, 'latin1'),
    body: Buffer.from(f.body, 'latin1'),
    expect,
    version: f.version ?? '1.1',
  }
}

/** Every method with every framing, then every method with the main framings under every Connection option. */
export function allShapes(): Shape[] {
  const shapes: Shape[] = []
  let n = 0
  for (const method of METHODS) {
    for (const f of FRAMINGS) shapes.push(shape(method, f, CONNECTIONS[0] as ConnectionOption, n++))
    for (const c of CONNECTIONS.slice(1)) {
      for (const f of ['no-body', 'content-length', 'chunked'].map(framing)) shapes.push(shape(method, f, c, n++))
    }
  }
  return shapes
}

/** The bytes of a shape as sent to the proxy at `port`. */
export function shapeBytes(s: Shape, port: number): Buffer {
  const head = `${s.method} ${s.target} HTTP/${s.version}\r\nHost: 127.0.0.1:${port}\r\n${s.headerLines.map((l) => `${l}\r\n`).join('')}\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), s.rawBody])
}
