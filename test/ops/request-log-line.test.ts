// The per-request log line is built directly (createRequestLog) rather than through pino's call,
// for speed. It must stay exactly the line pino would write for the same fields: same keys in the
// same order, same escaping, same omissions, so log shippers see one format. Each case writes the
// line both ways and compares the text, with the time field set aside.
import test from 'ava'
import { Writable } from 'node:stream'
import { createLogger, createRequestLog, type RequestLine } from '../../src/log.js'

function capture(level: 'info' | 'warn' = 'info'): { lines: string[]; writes: number; log: ReturnType<typeof createLogger> } {
  const lines: string[] = []
  const captured = { lines, writes: 0, log: undefined as unknown as ReturnType<typeof createLogger> }
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      captured.writes += 1
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  captured.log = createLogger(level, sink)
  return captured
}

const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0')
const settle = () => new Promise((resolve) => setImmediate(resolve))

const line = (fields: Partial<RequestLine>): RequestLine => ({
  request_id: '0b3b2a0e-9f41-4a57-8f7e-2d1c5e6a7b80',
  client: undefined,
  method: 'GET',
  route: '/stacks/:id/servers',
  status: 200,
  duration_ms: 1.23,
  bytes_in: undefined,
  bytes_out: 2083,
  outcome: 'ok',
  ...fields,
})

const cases: Array<[string, RequestLine]> = [
  ['a forwarded request', line({})],
  ['an upload with both byte counts', line({ method: 'POST', bytes_in: 1_048_576, status: 201 })],
  ['a request the proxy answered itself (no outcome, no bytes)', line({ route: '/-/healthz', outcome: undefined, bytes_out: undefined })],
  ['a caller-given request id with every allowed punctuation mark', line({ request_id: 'cx.req_1:a-b' })],
  ['a request without an id', line({ request_id: undefined })],
  ['an unknown method and the fallback route', line({ method: 'other', route: 'other', status: 405 })],
  ['a route with characters JSON must escape', line({ route: '/"quoted"\\back\u0001\u2028é' })],
  ['a duration with many digits, a zero and a large count', line({ duration_ms: 0.01, bytes_out: 0, bytes_in: 2 ** 40 })],
  ['numbers JSON cannot hold', line({ duration_ms: Number.NaN, bytes_out: Number.POSITIVE_INFINITY })],
  ['a client that left', line({ outcome: 'client_gone', bytes_out: undefined, status: 200 })],
  ["a gateway line with the client's address", line({ client: '203.0.113.7' })],
  ['a gateway line with an IPv6 client', line({ client: '2001:db8::1', request_id: undefined })],
]

for (const [title, fields] of cases) {
  test(`the direct line equals pino's: ${title}`, async (t) => {
    const direct = capture()
    createRequestLog(direct.log).write([fields])
    const viaPino = capture()
    viaPino.log.info({ ...fields }, 'request')
    await settle()
    t.is(direct.lines.length, 1)
    t.is(withoutTime(direct.lines[0] ?? ''), withoutTime(viaPino.lines[0] ?? ''))
    t.notThrows(() => JSON.parse(direct.lines[0] ?? ''))
  })
}

test('a batch is one write of one line per request, in order', async (t) => {
  const direct = capture()
  createRequestLog(direct.log).write([line({ status: 200 }), line({ status: 404 }), line({ status: 502 })])
  await settle()
  t.is(direct.writes, 1)
  t.deepEqual(
    direct.lines.map((l) => (JSON.parse(l) as { status: number }).status),
    [200, 404, 502],
  )
})

test('with --log-level warn there are no request lines', async (t) => {
  const quiet = capture('warn')
  createRequestLog(quiet.log).write([line({})])
  await settle()
  t.deepEqual(quiet.lines, [])
})
