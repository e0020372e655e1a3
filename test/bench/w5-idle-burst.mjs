// W5: open N idle keep-alive connections to the target, hold them, then send one GET on each at
// once and time the burst. Talks raw HTTP/1.1 over net sockets so the client itself stays cheap.
//
// Usage: node test/bench/w5-idle-burst.mjs --port P [--conns 1000] [--hold-ms 2000]
//          [--path /api/3/stacks.json] [--auth 'Bearer …'] [--timeout-ms 15000]
// stdout: a line "OPEN <ms>" once every connection is established (the harness samples the
// target's RSS then), "BURST" when the requests go out, and a final "RESULT {json}".
import net from 'node:net'
import { Buffer } from 'node:buffer'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'
import { clearTimeout, setTimeout } from 'node:timers'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : process.argv[i + 1]
}
const port = Number(arg('--port', '0'))
const conns = Number(arg('--conns', '1000'))
const holdMs = Number(arg('--hold-ms', '2000'))
const path = arg('--path', '/api/3/stacks.json')
const auth = arg('--auth', '')
const timeoutMs = Number(arg('--timeout-ms', '15000'))
const OPEN_CONCURRENCY = 64

const request = Buffer.from(
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: c66-bench-w5\r\nAccept: */*\r\n${auth ? `Authorization: ${auth}\r\n` : ''}\r\n`,
)

/** One connection: connects, later sends one request, resolves with whether a complete 2xx came back. */
class Conn {
  constructor() {
    this.buf = Buffer.alloc(0)
    this.done = false
    this.ok = false
    this.closedEarly = false
    this.error = undefined
    this.onDone = () => {}
  }

  open() {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port })
      this.socket = socket
      socket.setNoDelay(true)
      socket.once('connect', () => resolve(true))
      socket.on('error', (err) => {
        this.error ??= err.code ?? String(err)
        this.finish(false)
        resolve(false)
      })
      socket.on('close', () => {
        if (!this.done) this.closedEarly = true
        this.finish(false)
        resolve(false)
      })
      socket.on('data', (chunk) => {
        this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
        this.parse()
      })
    })
  }

  parse() {
    const end = this.buf.indexOf('\r\n\r\n')
    if (end === -1) return
    const head = this.buf.subarray(0, end).toString('latin1')
    const status = Number(head.slice(9, 12))
    const body = this.buf.subarray(end + 4)
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    let complete
    if (cl) complete = body.length >= Number(cl[1])
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) complete = body.includes('0\r\n\r\n')
    else complete = false // close-delimited: wait for 'close'
    if (complete) this.finish(status >= 200 && status < 300)
  }

  finish(ok) {
    if (this.done) return
    this.done = true
    this.at = performance.now()
    this.ok = ok
    this.onDone()
  }

  send() {
    return new Promise((resolve) => {
      if (this.done) {
        resolve()
        return
      }
      this.onDone = resolve
      this.socket.write(request)
    })
  }
}

const all = Array.from({ length: conns }, () => new Conn())
const openStart = performance.now()
let next = 0
await Promise.all(
  Array.from({ length: OPEN_CONCURRENCY }, async () => {
    while (next < all.length) await all[next++].open()
  }),
)
const opened = all.filter((c) => !c.done).length
process.stdout.write(`OPEN ${Math.round(performance.now() - openStart)} ${opened}\n`)
await sleep(holdMs)
const stillOpen = all.filter((c) => !c.done).length

process.stdout.write('BURST\n')
const burstStart = performance.now()
let timedOut = false
const timer = setTimeout(() => {
  timedOut = true
  for (const c of all) {
    c.finish(false)
    c.socket.destroy()
  }
}, timeoutMs)
await Promise.all(all.map((c) => c.send()))
const burstMs = performance.now() - burstStart
clearTimeout(timer)

const times = all
  .filter((c) => c.ok)
  .map((c) => c.at - burstStart)
  .sort((a, b) => a - b)
const q = (p) => (times.length ? Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10 : null)
const errors = {}
for (const c of all) {
  if (c.ok) continue
  const why = c.error ?? (c.closedEarly ? 'closed' : timedOut ? 'timeout' : 'bad_status')
  errors[why] = (errors[why] ?? 0) + 1
}
const result = {
  sent: conns,
  ok: all.filter((c) => c.ok).length,
  failed: all.filter((c) => !c.ok).length,
  opened,
  still_open_after_hold: stillOpen,
  open_ms: Math.round(performance.now() - openStart - burstMs - holdMs),
  burst_ms: Math.round(burstMs * 10) / 10,
  timed_out: timedOut,
  latency_ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: times.length ? Math.round(times[times.length - 1] * 10) / 10 : null },
  errors,
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
for (const c of all) c.socket.destroy()
process.exit(0)
