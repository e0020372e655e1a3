// In-process micro-measures of pieces whose cost a hostile caller or member chooses: path-rule
// matching (members write their own rules) and reading a body's parameter names (callers choose
// the body). Each reports the time per operation next to its goal. Part of every `npm run bench`;
// `npm run bench -- --micro` runs only these (no wrk needed).
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { peerUserGate } from '../../src/net/peer-users.js'
import { bodyParamNames } from '../../src/proxy/body-params.js'
import { compileRule, firstMatch, type PathRule } from '../../src/rules/path-rules.js'

export interface MicroResult {
  readonly name: string
  readonly perOpUs: number
  readonly iterations: number
  readonly goal: string
  readonly pass: boolean
}

/** Median per-operation time of `rounds` timed batches, after a warm-up batch. */
function measure(fn: () => unknown, batch: number, rounds = 7): number {
  for (let i = 0; i < batch; i++) fn()
  const perOp: number[] = []
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) fn()
    perOp.push(Number(process.hrtime.bigint() - start) / 1000 / batch)
  }
  perOp.sort((a, b) => a - b)
  return perOp[Math.floor(perOp.length / 2)] ?? NaN
}

function rule(source: string): PathRule {
  const compiled = compileRule(source)
  if (typeof compiled === 'string') throw new Error(compiled)
  return compiled
}

export async function runMicro(): Promise<MicroResult[]> {
  const results: MicroResult[] = []
  const add = (name: string, perOpUs: number, iterations: number, goalUs: number, goal: string) =>
    results.push({ name, perOpUs, iterations, goal, pass: perOpUs < goalUs })

  // Issue 9, finding 3: a 60-segment path against a rule of ten `**` (the old matcher's time
  // doubled with each `**`; seven took 2.4 s on 50 segments).
  const tenStars = [rule(`/${Array.from({ length: 10 }, () => '**').join('/')}/nomatch`)]
  const longPath = `/${Array.from({ length: 60 }, (_v, i) => `segment${i}`).join('/')}.json`
  const input = { method: 'GET', apiPath: longPath, paramNames: () => [] }
  add(
    'rule match: 60-segment path, rule of ten ** (no match)',
    measure(() => firstMatch(tenStars, input), 2_000),
    2_000,
    1_000,
    '< 1 ms',
  )
  const many = Array.from({ length: 50 }, (_v, i) => rule(`/**/${i}/**/**/**/x${i}`))
  add(
    'rule match: 60-segment path, 50 rules of four **',
    measure(() => firstMatch(many, input), 200),
    200,
    1_000,
    '< 1 ms',
  )

  // Bodies read under a ?param rule: the largest body the default --inspect-body-limit lets in.
  const MiB = 1024 * 1024
  const form = Buffer.from(
    Array.from({ length: MiB / 16 }, (_v, i) => `k${i % 1000}=${'v'.repeat(8)}`)
      .join('&')
      .slice(0, MiB),
  )
  const jsonBody = Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 25_000 }, (_v, i) => [`key${i}`, { nested: 'x'.repeat(16) }]))))
  const boundary = 'b0undary'
  const multipart = Buffer.from(
    Array.from({ length: 4_000 }, (_v, i) => `--${boundary}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\n${'x'.repeat(200)}\r\n`).join('') +
      `--${boundary}--\r\n`,
  )
  add(
    `body names: ${(form.length / MiB).toFixed(1)} MiB form`,
    measure(() => bodyParamNames('form', form), 5),
    5,
    100_000,
    '< 100 ms',
  )
  add(
    `body names: ${(jsonBody.length / MiB).toFixed(1)} MiB JSON`,
    measure(() => bodyParamNames('json', jsonBody), 5),
    5,
    100_000,
    '< 100 ms',
  )
  add(
    `body names: ${(multipart.length / MiB).toFixed(1)} MiB multipart`,
    measure(() => bodyParamNames('multipart', multipart), 5),
    5,
    100_000,
    '< 100 ms',
  )
  if (process.platform === 'linux') for (const r of await peerUserMeasures()) add(...r)
  return results
}

/**
 * Issue 14: the local proxy's check of which OS user is at the other end. The lookup reads the
 * kernel's socket tables once per connection (off the event loop; concurrent lookups share one
 * read); its cost grows with every socket the machine lists, TIME_WAIT ones included, so it is
 * measured as the machine is and again with 2,000 more loopback connections open. Keep-alive
 * requests pay only the per-connection cache.
 */
async function peerUserMeasures(): Promise<Array<[string, number, number, number, string]>> {
  const server = net.createServer(() => undefined)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const accepted: net.Socket[] = []
  server.on('connection', (s) => accepted.push(s))
  const clients: net.Socket[] = []
  const open = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const c = net.connect(port, '127.0.0.1')
      clients.push(c)
      await new Promise((resolve) => c.once('connect', resolve))
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const listed = () => (readFileSync('/proc/net/tcp', 'latin1').match(/\n/g)?.length ?? 1) - 1
  const own = new Set([process.getuid?.() ?? 0])
  const out: Array<[string, number, number, number, string]> = []
  try {
    for (const extra of [1, 2_000]) {
      await open(extra)
      const lines = listed()
      // A new gate each time: the first request of a connection, with nothing cached.
      const times: number[] = []
      for (let i = 0; i < 30; i++) {
        const socket = accepted[i % accepted.length] as net.Socket
        const started = process.hrtime.bigint()
        if ((await peerUserGate(own)(socket)) !== true) throw new Error('own connection refused')
        times.push(Number(process.hrtime.bigint() - started) / 1000)
      }
      times.sort((a, b) => a - b)
      // Reading the table walks the kernel's whole connection hash (a fixed ~4.5 ms with 262,144
      // buckets here), then writes each listed socket as a line of text: the goal has both parts,
      // and reading a second table (tcp6) for an IPv4 client would miss it.
      out.push([
        `peer user: first request of a connection, ${lines} sockets listed (latency)`,
        times[15] ?? NaN,
        30,
        8_000 + 5 * lines,
        `< 8 ms + 5 µs × ${lines} lines`,
      ])
      const burst = accepted.slice(0, 200)
      const gate = peerUserGate(own)
      const started = process.hrtime.bigint()
      await Promise.all(burst.map((s) => gate(s)))
      const perConn = Number(process.hrtime.bigint() - started) / 1000 / burst.length
      if (burst.length >= 200) out.push([`peer user: 200 new connections at once, ${lines} sockets listed (per connection)`, perConn, 200, 1_000, '< 1 ms'])
    }
    const gate = peerUserGate(own)
    const socket = accepted[0] as net.Socket
    await gate(socket)
    out.push(['peer user: a keep-alive request (cached per connection)', measure(() => gate(socket), 100_000), 100_000, 1, '< 1 µs'])
  } finally {
    for (const c of clients) c.destroy()
    server.close()
  }
  return out
}

export function renderMicro(results: readonly MicroResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.perOpUs < 1000 ? `${r.perOpUs.toFixed(1)} µs` : `${(r.perOpUs / 1000).toFixed(1)} ms`} | ${r.goal} | ${r.pass ? 'PASS' : 'FAIL'} |`,
  )
  return ['## Micro-measures (in process, median of 7 batches)', '', '| what | per operation | goal | |', '|---|---|---|---|', ...rows, ''].join('\n')
}
