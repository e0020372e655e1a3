import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import test, { type ExecutionContext } from 'ava'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'

// Issue 14, finding 3: one upstream answer, `HTTP/1.1 200 O\x01K`, crashed the proxy (an
// uncaught ERR_INVALID_CHAR from writeHead). An upstream (or anything between, with
// --unsafe-http-upstream) must never be able to take the process down or desynchronise the
// pool: every hostile answer below ends in a clean 502/504 (or, once the headers are out, a
// closed connection), and the next caller's request still gets its own answer.

const TOKEN = 'hostile-harness-token'

/** Each answer, written raw after the request's headers arrive; `hold` keeps the socket open after it. */
const ANSWERS: Readonly<Record<string, { bytes: string; hold?: boolean; expect: 'bad_upstream' | 'reset' | 'timeout' | 'cut' | 'clean' }>> = {
  'reason-control-char': { bytes: 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok', expect: 'clean' },
  'reason-del-and-nul-free-obs-text': { bytes: 'HTTP/1.1 200 \x7fOK\xff\r\nContent-Length: 2\r\n\r\nok', expect: 'clean' },
  'status-0': { bytes: 'HTTP/1.1 000 Nothing\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'status-1000': { bytes: 'HTTP/1.1 1000 Big\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'status-99': { bytes: 'HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'status-600': { bytes: 'HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'not-http': { bytes: 'SSH-2.0-OpenSSH_9.2\r\n', expect: 'bad_upstream' },
  'http-0.9': { bytes: '<html>hello</html>', expect: 'bad_upstream' },
  'status-101-to-get': {
    bytes: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\nSMUGGLED',
    hold: true,
    expect: 'bad_upstream',
  },
  'status-102-then-200': { bytes: 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  '1xx-flood': { bytes: `${'HTTP/1.1 199 Flood\r\n\r\n'.repeat(2_000)}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`, expect: 'bad_upstream' },
  '103-early-hints-then-200': {
    bytes: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    expect: 'clean',
  },
  'header-nul': { bytes: 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'header-name-space': { bytes: 'HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'header-folded': { bytes: 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok', expect: 'bad_upstream' },
  'headers-too-large': {
    bytes: `HTTP/1.1 200 OK\r\n${'X-Filler: '.concat('y'.repeat(1_000), '\r\n').repeat(100)}Content-Length: 2\r\n\r\nok`,
    expect: 'bad_upstream',
  },
  'content-length-and-chunked': {
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    expect: 'bad_upstream',
  },
  'content-length-twice-differing': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!', expect: 'bad_upstream' },
  'bad-chunk-size': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n', expect: 'cut' },
  'truncated-body': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nonly this much', expect: 'cut' },
  'truncated-small-body': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this much', expect: 'cut' },
  'stalled-small-body': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this much', hold: true, expect: 'cut' },
  'stalled-large-body': { bytes: `HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${'z'.repeat(70_000)}`, hold: true, expect: 'cut' },
  'over-long-body': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nstolen!', hold: true, expect: 'clean' },
  'never-answers': { bytes: '', hold: true, expect: 'timeout' },
  'stalled-headers': { bytes: 'HTTP/1.1 200 OK\r\nContent-Le', hold: true, expect: 'timeout' },
  'closes-at-once': { bytes: '', expect: 'reset' },
  'location-javascript': { bytes: 'HTTP/1.1 302 Found\r\nLocation: javascript:alert(document.cookie)\r\nContent-Length: 0\r\n\r\n', expect: 'bad_upstream' },
  'location-data': { bytes: 'HTTP/1.1 302 Found\r\nLocation: data:text/html,<script>alert(1)</script>\r\nContent-Length: 0\r\n\r\n', expect: 'bad_upstream' },
}

interface Hostile {
  readonly url: string
  close(): Promise<void>
}

/** A raw TCP "Cloud 66" that answers /api/3/hostile/<name> with ANSWERS[name] and everything else properly. */
async function startHostileUpstream(): Promise<Hostile> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let head = ''
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      const target = /^[A-Z]+ (\S+) /.exec(head)?.[1] ?? ''
      const name = /^\/api\/3\/hostile\/([^/?]+)/.exec(target)?.[1]
      const answer = name === undefined ? undefined : ANSWERS[name]
      if (answer === undefined) {
        const body = JSON.stringify({ ok: target })
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
        socket.end()
        return
      }
      socket.write(Buffer.from(answer.bytes, 'latin1'))
      if (!answer.hold) socket.end()
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

interface Seen {
  readonly status: number
  readonly statusMessage: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** The connection closed before the response ended. */
  readonly cut: boolean
}

function get(proxy: StartedProxy, path: string): Promise<Seen> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: proxy.port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => (body += c))
      res.once('end', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body, cut: false }))
      res.once('error', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body, cut: true }))
      res.once('aborted', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body, cut: true }))
    })
    req.once('error', () => resolve({ status: 0, statusMessage: '', headers: {}, body: '', cut: true }))
  })
}

async function started(t: ExecutionContext): Promise<StartedProxy> {
  const up = await startHostileUpstream()
  t.teardown(() => up.close())
  return startProxy(t, { upstream: up.url, flags: { logLevel: 'silent', responseTimeout: '1s', idleTimeout: '1s' }, env: { CLOUD66_ACCESS_TOKEN: TOKEN } })
}

const REASON = /^[\t\x20-\x7e\x80-\xff]*$/

test('no hostile upstream answer crashes the proxy: each ends in a clean 502/504 or a closed connection, and the next request gets its own answer', async (t) => {
  const proxy = await started(t)
  const problems: string[] = []
  let n = 0
  for (const [name, answer] of Object.entries(ANSWERS)) {
    const seen = await get(proxy, `/hostile/${name}`)
    const error =
      seen.headers['content-type']?.startsWith('application/json') && !seen.cut ? (JSON.parse(seen.body || '{}') as { error?: string }).error : undefined
    const ok =
      answer.expect === 'bad_upstream'
        ? seen.status === 502 && error === 'bad_upstream'
        : answer.expect === 'reset'
          ? seen.status === 502 && error === 'upstream_reset'
          : answer.expect === 'timeout'
            ? seen.status === 504 && error === 'upstream_timeout'
            : answer.expect === 'cut'
              ? seen.cut || seen.status === 502
              : seen.status >= 200 && seen.status < 300 && !seen.cut && REASON.test(seen.statusMessage) && seen.body === 'ok'
    if (!ok)
      problems.push(
        `${name}: expected ${answer.expect}, got ${seen.status} ${JSON.stringify(seen.statusMessage)} cut=${seen.cut} ${JSON.stringify(seen.body.slice(0, 120))}`,
      )
    // The process is alive and the pool is not desynchronised: the next caller gets its own answer.
    const next = await get(proxy, `/next/${n++}`)
    if (next.status !== 200 || next.body !== JSON.stringify({ ok: `/api/3/next/${n - 1}` }))
      problems.push(`${name}: the next request got ${next.status} ${JSON.stringify(next.body.slice(0, 120))}`)
  }
  t.deepEqual(problems, [])
})

test("a proxied answer is served with nosniff and a sandboxing CSP, whatever the upstream said, so it cannot run as the proxy's own origin", async (t) => {
  const up = net.createServer((socket) => {
    socket.once('data', () => {
      const body = '<html><script>fetch("/-/api/keys")</script></html>'
      socket.end(
        `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Security-Policy: script-src *\r\nX-Frame-Options: ALLOWALL\r\nX-Content-Type-Options: none\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      )
    })
  })
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => up.close())
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${(up.address() as AddressInfo).port}`, env: { CLOUD66_ACCESS_TOKEN: TOKEN } })
  const seen = await get(proxy, '/stacks.json')
  t.is(seen.status, 200)
  t.is(seen.headers['x-content-type-options'], 'nosniff')
  t.regex(String(seen.headers['content-security-policy']), /^sandbox; default-src 'none'; frame-ancestors 'none'/)
  t.is(seen.headers['x-frame-options'], 'DENY')
})
