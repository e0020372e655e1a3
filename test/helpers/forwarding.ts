// Helpers for the forwarding-contract tests in test/proxy/: a simulator that stops with the test,
// a plain node:http client that shows exactly what the caller got, event-driven waits with a
// generous safety timeout, and readers for the proxy's metrics and log lines.
import { EventEmitter } from 'node:events'
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import https from 'node:https'
import net, { type AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { ExecutionContext } from 'ava'
import { startSimulator, type Simulator, type SimulatorOptions, type SimulatorRequestRecord } from '../../src/simulator/index.js'
import type { StartedProxy } from './proxy.js'

/** The simulator's default token, accepted with every scope. */
export const SIM_TOKEN = 'sim-token'

/** How long any event-driven wait may take before the test fails instead of hanging. */
export const SAFETY_TIMEOUT_MS = 15_000

/** Starts the Cloud 66 simulator on 127.0.0.1:0 and stops it when the test ends. */
export async function startSim(t: ExecutionContext, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options)
  t.teardown(() => sim.close())
  return sim
}

/** Rejects with `what` when `promise` has not settled within the safety timeout. */
export function within<T>(promise: Promise<T>, what: string, ms = SAFETY_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The next `event` on `emitter` (whose arguments pass `accept`), within the safety timeout. */
export function nextEvent<A extends unknown[] = unknown[]>(
  emitter: EventEmitter | NodeJS.EventEmitter,
  event: string,
  what: string,
  accept: (...args: A) => boolean = () => true,
): Promise<A> {
  let listener: ((...args: A) => void) | undefined
  const seen = new Promise<A>((resolve) => {
    listener = (...args: A) => {
      if (accept(...args)) resolve(args)
    }
    emitter.on(event, listener as (...args: unknown[]) => void)
  })
  return within(seen, what).finally(() => emitter.off(event, listener as (...args: unknown[]) => void))
}

export interface Reply {
  readonly status: number
  readonly statusMessage: string
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  readonly body: Buffer
}

export interface SendOptions {
  readonly method?: string
  readonly headers?: OutgoingHttpHeaders
  /** Sent with a Content-Length unless `chunked`. */
  readonly body?: Buffer | string
  /** Sends `body` in two chunks with Transfer-Encoding: chunked. */
  readonly chunked?: boolean
  /** Default false: a fresh connection per request, so no test depends on another's sockets. */
  readonly agent?: http.Agent | false
}

/**
 * One request with node:http (which, unlike fetch, adds no headers of its own beyond Host and
 * Connection and never follows redirects); resolves with the whole answer.
 */
export function send(url: string | URL, options: SendOptions = {}): Promise<Reply> {
  return within(
    new Promise<Reply>((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { ...options.headers }
      const body = options.body === undefined ? undefined : Buffer.from(options.body)
      if (body !== undefined && options.chunked) headers['transfer-encoding'] = 'chunked'
      else if (body !== undefined && headers['content-length'] === undefined) headers['content-length'] = body.length
      const client = String(url).startsWith('https:') ? https : http
      const req = client.request(url, { method: options.method ?? 'GET', headers, agent: options.agent ?? false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? '',
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
          }),
        )
        res.once('error', reject)
      })
      req.once('error', reject)
      if (body !== undefined && options.chunked) {
        const half = Math.ceil(body.length / 2)
        req.write(body.subarray(0, half))
        req.end(body.subarray(half))
      } else req.end(body)
    }),
    `${options.method ?? 'GET'} ${String(url)}`,
  )
}

/** The JSON body of a reply. */
export function json(reply: Reply): unknown {
  return JSON.parse(reply.body.toString('utf8'))
}

/** A Readable of `total` bytes made from one reused block: large bodies without large memory. */
export function generatedBody(total: number, blockSize = 64 * 1024): Readable {
  const block = Buffer.alloc(blockSize, 'c66-proxy ')
  let left = total
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null)
        return
      }
      const n = Math.min(left, block.length)
      left -= n
      this.push(n === block.length ? block : block.subarray(0, n))
    },
  })
}

/** Resolves once the simulator has recorded at least `count` requests. */
export async function recorded(sim: Simulator, count: number): Promise<SimulatorRequestRecord[]> {
  if (sim.requests.length >= count) return sim.requests
  await nextEvent(sim.events, 'request', `${count} simulator request(s)`, () => sim.requests.length >= count)
  return sim.requests
}

/** The simulator's record of the first request whose raw URL starts with `prefix`. */
export function recordFor(sim: Simulator, prefix: string): SimulatorRequestRecord | undefined {
  return sim.requests.find((r) => r.url.startsWith(prefix))
}

/** The proxy's /-/metrics text. */
export async function metricsText(proxy: StartedProxy): Promise<string> {
  const reply = await send(`${proxy.url}/-/metrics`)
  if (reply.status !== 200) throw new Error(`/-/metrics answered ${reply.status}`)
  return reply.body.toString('utf8')
}

/**
 * The value of the sample `name` whose labels include all of `labels` (0 when there is none,
 * as Prometheus reads an absent counter).
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = new Map<string, string>()
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1] ?? '', pair[2] ?? '')
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3])
  }
  return 0
}

/** The sum of every sample of `name` (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line)
    if (m && m[1] === name) sum += Number(m[2])
  }
  return sum
}

const logEvents = new WeakMap<string[], EventEmitter>()

/** Resolves with the first log line (parsed) that passes `accept`, already written or still to come. */
export function logLine(proxy: StartedProxy, what: string, accept: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  let emitter = logEvents.get(proxy.logs)
  if (!emitter) {
    const created = new EventEmitter()
    const push = proxy.logs.push.bind(proxy.logs)
    // The proxy helper appends to this very array; announcing each append makes waits event-driven.
    proxy.logs.push = (...lines: string[]) => {
      const n = push(...lines)
      created.emit('line')
      return n
    }
    logEvents.set(proxy.logs, created)
    emitter = created
  }
  const find = () => proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find(accept)
  const found = find()
  if (found) return Promise.resolve(found)
  return nextEvent(emitter, 'line', `log line: ${what}`, () => find() !== undefined).then(() => find() as Record<string, unknown>)
}

/** A port on 127.0.0.1 with nothing listening on it (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Listens on 127.0.0.1:0 and closes the server, and every connection it accepted, when the test ends. */
export async function listenForTest<S extends net.Server>(t: ExecutionContext, server: S): Promise<{ server: S; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>()
  server.on('connection', (s: net.Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  )
  return { server, port: (server.address() as AddressInfo).port, sockets }
}

/**
 * A test-only self-signed certificate for 127.0.0.1 / localhost (EC P-256, valid until 2126):
 * an upstream presenting it must be refused, because the proxy verifies TLS.
 */
export const SELF_SIGNED = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFGVFXLa+bdruaYUq
z44uSlFG900iT1EWd6Gs7PeRPiOhRANCAAQr0h31ax1gWALH6WejnRx+IMxoCggv
U8HUjopQS4VPEhMjO87n9+wizWXoNdfp7MPiHvPsUTm5X5uEq8bCf2Ka
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUPFVNKAE4h05VRqnU3/uBhdMGZhAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyODE3NTgwOFoYDzIxMjYxMTA0
MTc1ODA4WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQr0h31ax1gWALH6WejnRx+IMxoCggvU8HUjopQS4VPEhMjO87n9+wi
zWXoNdfp7MPiHvPsUTm5X5uEq8bCf2Kao28wbTAdBgNVHQ4EFgQUxHmi1FLKKf6p
QlcqnYfbezeolUUwHwYDVR0jBBgwFoAUxHmi1FLKKf6pQlcqnYfbezeolUUwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIhAPSnCO8GS8AYnTC+Nw0rnIvQxNjIjbz27725MPttxcVJAiBD
KZ9VUU4VtTvdRAE6AUZwUO1d/2Nn9l7L3NOJZxHYEQ==
-----END CERTIFICATE-----
`,
} as const
