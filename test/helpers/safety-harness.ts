import net from 'node:net'
import type { ExecutionContext } from 'ava'
import { startSimulator, type Simulator } from '../../src/simulator/index.js'
import { startProxy, type StartedProxy } from './proxy.js'
import type { RawResponse } from './raw-http.js'

/** The simulator's default token, which holds every scope. */
export const SIM_TOKEN = 'sim-token'

export interface GuardedStack {
  readonly sim: Simulator
  readonly proxy: StartedProxy
  /** The proxy's port. */
  readonly port: number
  /** Requests whose headers reached the simulator, counted on arrival (before any body). */
  arrivals(): number
  /** TCP connections the simulator accepted. */
  connections(): number
}

export interface StackOptions {
  readonly flags?: Record<string, unknown>
  /** Extra environment for the proxy's configuration. */
  readonly env?: Record<string, string | undefined>
  /** The token put in CLOUD66_ACCESS_TOKEN; null starts the proxy with no token at all. */
  readonly token?: string | null
}

/**
 * A simulator and a proxy in front of it, both on 127.0.0.1:0 and both stopped by teardown.
 * The simulator's arrivals are counted on its server's 'request' event, so "the upstream got
 * nothing" also covers requests whose body never finished.
 */
export async function startGuardedStack(t: ExecutionContext, options: StackOptions = {}): Promise<GuardedStack> {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  let arrivals = 0
  let connections = 0
  sim.server.on('request', () => (arrivals += 1))
  sim.server.on('connection', () => (connections += 1))
  const token = options.token === undefined ? SIM_TOKEN : options.token
  const proxy = await startProxy(t, {
    upstream: sim.url,
    ...(options.flags ? { flags: options.flags } : {}),
    env: { ...(token === null ? {} : { CLOUD66_ACCESS_TOKEN: token }), ...options.env },
  })
  return { sim, proxy, port: proxy.port, arrivals: () => arrivals, connections: () => connections }
}

export interface RequestSpec {
  readonly method?: string
  /** The request target exactly as it goes on the request line. */
  readonly target: string
  /** The Host header; default `127.0.0.1:<port>`; null sends none. */
  readonly host?: string | null
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly body?: string | Buffer
  readonly version?: '1.0' | '1.1'
}

/** The bytes of one request, with `Connection: close` so the answer ends with the connection. */
export function requestBytes(port: number, spec: RequestSpec): Buffer {
  const lines = [`${spec.method ?? 'GET'} ${spec.target} HTTP/${spec.version ?? '1.1'}`]
  const host = spec.host === undefined ? `127.0.0.1:${port}` : spec.host
  if (host !== null) lines.push(`Host: ${host}`)
  for (const [name, value] of spec.headers ?? []) lines.push(`${name}: ${value}`)
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body)
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`)
  lines.push('Connection: close')
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  return body === undefined ? head : Buffer.concat([head, body])
}

export interface ExchangeTarget {
  readonly port: number
  readonly host?: string
  readonly localAddress?: string
}

/**
 * Writes `bytes` on a fresh connection and reads until the server closes it, or fails after
 * `timeoutMs` (a safety net, not an assertion). A chunked body is decoded.
 */
export function exchange(to: ExchangeTarget, bytes: string | Buffer, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: to.port, host: to.host ?? '127.0.0.1', ...(to.localAddress ? { localAddress: to.localAddress } : {}) })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no end of answer within ${timeoutMs} ms; got so far: ${Buffer.concat(chunks).toString('latin1')}`))
    }, timeoutMs)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A server that answers and closes while we are still writing may reset; keep what came.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        clearTimeout(timer)
        reject(err)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parseResponse(Buffer.concat(chunks)))
    })
    socket.write(bytes)
  })
}

/** Sends one request to the proxy on 127.0.0.1 and returns the whole answer. */
export function send(port: number, spec: RequestSpec): Promise<RawResponse> {
  return exchange({ port }, requestBytes(port, spec))
}

export function parseResponse(buf: Buffer): RawResponse {
  const raw = buf.toString('latin1')
  const end = raw.indexOf('\r\n\r\n')
  const head = end === -1 ? raw : raw.slice(0, end)
  let body = end === -1 ? '' : raw.slice(end + 4)
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const i = line.indexOf(':')
    if (i > 0) {
      const name = line.slice(0, i).toLowerCase()
      const value = line.slice(i + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body)
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: Buffer.from(body, 'latin1').toString('utf8'), raw }
}

function dechunk(text: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const eol = text.indexOf('\r\n', at)
    if (eol === -1) return out
    const size = parseInt(text.slice(at, eol), 16)
    if (!Number.isFinite(size) || size === 0) return out
    out += text.slice(eol + 2, eol + 2 + size)
    at = eol + 2 + size + 2
  }
}

/** The proxy's own error contract: the status, JSON `{error, message, request_id}` with `code`. */
export function assertProxyError(t: ExecutionContext, res: RawResponse, status: number, code: string): void {
  t.is(res.status, status, `unexpected answer:\n${res.raw}`)
  t.regex(res.headers['content-type'] ?? '', /^application\/json/, `not JSON:\n${res.raw}`)
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(res.body) as Record<string, unknown>
  } catch {
    t.fail(`body is not JSON: ${res.body}`)
  }
  t.is(body['error'], code, `unexpected error body: ${res.body}`)
  t.true(typeof body['message'] === 'string' && body['message'].length > 0, `message missing: ${res.body}`)
  t.true(typeof body['request_id'] === 'string' && body['request_id'].length > 0, `request_id missing: ${res.body}`)
}

/** Nothing reached Cloud 66: no request arrived and none was recorded. */
export function assertUpstreamUntouched(t: ExecutionContext, stack: GuardedStack): void {
  t.is(stack.arrivals(), 0, `the upstream received: ${stack.sim.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`)
  t.is(stack.sim.requests.length, 0)
}

/** The proxy still answers its health check on a new connection. */
export async function assertAlive(t: ExecutionContext, port: number): Promise<void> {
  const res = await send(port, { target: '/-/healthz' })
  t.is(res.status, 200, `the proxy did not answer /-/healthz:\n${res.raw}`)
  t.deepEqual(JSON.parse(res.body), { status: 'ok' })
}
