import net, { type AddressInfo } from 'node:net'

/** One request as a strict HTTP/1.1 parser read it off one upstream connection. */
export interface StrictRecord {
  /** Which accepted connection it came on (0, 1, …) and its place on that connection. */
  readonly connection: number
  readonly seq: number
  readonly method: string
  readonly target: string
  /** Field names lower-cased, in order, values as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Buffer
}

/** Something on a connection that a strict parser refuses: the connection is answered 400 and closed. */
export interface StrictViolation {
  readonly connection: number
  readonly seq: number
  readonly reason: string
  /** The first bytes of what could not be parsed, for the failure message. */
  readonly near: string
}

export interface StrictUpstream {
  readonly url: string
  readonly records: StrictRecord[]
  readonly violations: StrictViolation[]
  /** Bytes that arrived on a connection after it was closed or refused (a desync's leftovers). */
  readonly leftovers: Array<{ connection: number; bytes: number }>
  close(): Promise<void>
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Field values: visible ASCII, obs-text, SP and HTAB; no other control characters. */
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/

class Violation extends Error {}

/**
 * A raw TCP "Cloud 66" that parses requests the way RFC 9112 says a careful server must, and
 * records every request (and every refusal) per connection. It is deliberately stricter than
 * Node's parser and knows nothing of the proxy: whatever the proxy sends that could be framed
 * two ways shows up here as a violation or as a request nobody asked for.
 *
 * Rules: request line `METHOD SP origin-form SP HTTP/1.1`; field names are tokens with no
 * whitespace before the colon; no obs-fold; values hold no control characters; at most one
 * Content-Length (digits only) and never with Transfer-Encoding; Transfer-Encoding only
 * `chunked`; chunk sizes are hex digits (extensions allowed) and every line ends with CRLF.
 * Every request is answered `200` with a small JSON body naming its connection and place.
 */
export async function startStrictUpstream(): Promise<StrictUpstream> {
  const records: StrictRecord[] = []
  const violations: StrictViolation[] = []
  const leftovers: Array<{ connection: number; bytes: number }> = []
  const sockets = new Set<net.Socket>()
  let connections = 0

  const server = net.createServer((socket) => {
    const connection = connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let buffer = Buffer.alloc(0)
    let seq = 0
    let refused = false
    socket.on('data', (chunk: Buffer) => {
      if (refused) {
        leftovers.push({ connection, bytes: chunk.length })
        return
      }
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        let parsed: { record: Omit<StrictRecord, 'connection' | 'seq'>; used: number } | undefined
        try {
          parsed = parseOne(buffer)
        } catch (err) {
          if (!(err instanceof Violation)) throw err
          violations.push({ connection, seq, reason: err.message, near: JSON.stringify(buffer.subarray(0, 120).toString('latin1')) })
          refused = true
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
          return
        }
        if (!parsed) return // wait for more bytes
        buffer = buffer.subarray(parsed.used)
        const record: StrictRecord = { connection, seq, ...parsed.record }
        seq += 1
        records.push(record)
        const body = JSON.stringify({ connection, seq: record.seq, method: record.method, target: record.target })
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${record.method === 'HEAD' ? '' : body}`,
        )
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    violations,
    leftovers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Parses one request from the front of `buf`: undefined when more bytes are needed. */
function parseOne(buf: Buffer): { record: Omit<StrictRecord, 'connection' | 'seq'>; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end === -1) {
    if (buf.length > 64 * 1024) throw new Violation('header section too long')
    return undefined
  }
  const head = buf.subarray(0, end).toString('latin1')
  if (/\r(?!\n)|(?<!\r)\n/.test(head)) throw new Violation('a bare CR or LF in the header section')
  const [requestLine = '', ...lines] = head.split('\r\n')
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\/[^\s]*) HTTP\/1\.1$/.exec(requestLine)
  if (!m) throw new Violation(`bad request line ${JSON.stringify(requestLine)}`)
  const headers: Array<[string, string]> = []
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new Violation('obs-fold')
    const colon = line.indexOf(':')
    if (colon <= 0) throw new Violation(`field without a name: ${JSON.stringify(line)}`)
    const name = line.slice(0, colon)
    if (!TOKEN.test(name)) throw new Violation(`bad field name ${JSON.stringify(name)}`)
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
    if (BAD_VALUE.test(value)) throw new Violation(`control character in ${name}`)
    headers.push([name.toLowerCase(), value])
  }
  const cls = headers.filter(([n]) => n === 'content-length')
  const tes = headers.filter(([n]) => n === 'transfer-encoding')
  if (cls.length > 1) throw new Violation('more than one Content-Length')
  if (cls.length === 1 && tes.length > 0) throw new Violation('Content-Length with Transfer-Encoding')
  if (tes.length > 1) throw new Violation('more than one Transfer-Encoding')
  const bodyStart = end + 4
  let body: Buffer
  let used: number
  if (tes.length === 1) {
    if ((tes[0]?.[1] ?? '').toLowerCase() !== 'chunked') throw new Violation(`Transfer-Encoding ${JSON.stringify(tes[0]?.[1])}`)
    const chunked = parseChunked(buf, bodyStart)
    if (!chunked) return undefined
    ;({ body, used } = chunked)
  } else if (cls.length === 1) {
    const text = cls[0]?.[1] ?? ''
    if (!/^\d{1,15}$/.test(text)) throw new Violation(`Content-Length ${JSON.stringify(text)}`)
    const length = Number(text)
    if (buf.length < bodyStart + length) return undefined
    body = Buffer.from(buf.subarray(bodyStart, bodyStart + length))
    used = bodyStart + length
  } else {
    body = Buffer.alloc(0)
    used = bodyStart
  }
  return { record: { method: m[1] ?? '', target: m[2] ?? '', headers, body }, used }
}

function parseChunked(buf: Buffer, start: number): { body: Buffer; used: number } | undefined {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const line = buf.subarray(at, lineEnd).toString('latin1')
    const m = /^([0-9a-fA-F]{1,8})(;[!#$%&'*+\-.^_`|~0-9A-Za-z=";\s]*)?$/.exec(line)
    if (!m) throw new Violation(`bad chunk size line ${JSON.stringify(line)}`)
    const size = parseInt(m[1] ?? '', 16)
    at = lineEnd + 2
    if (size === 0) {
      // Trailer section: field lines until an empty line.
      for (;;) {
        const tEnd = buf.indexOf('\r\n', at)
        if (tEnd === -1) return undefined
        const tLine = buf.subarray(at, tEnd).toString('latin1')
        at = tEnd + 2
        if (tLine === '') return { body: Buffer.concat(parts), used: at }
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(tLine)) throw new Violation(`bad trailer line ${JSON.stringify(tLine)}`)
      }
    }
    if (buf.length < at + size + 2) return undefined
    parts.push(Buffer.from(buf.subarray(at, at + size)))
    if (buf[at + size] !== 0x0d || buf[at + size + 1] !== 0x0a) throw new Violation('chunk data not followed by CRLF')
    at += size + 2
  }
}
