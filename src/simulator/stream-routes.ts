// Test-only endpoints with no Cloud 66 counterpart: large, slow, stuck and echoed bodies,
// redirects and chosen statuses. They let tests and the benchmark drive the proxy's streaming,
// backpressure, timeout and abort paths against a real socket. All need a token with `public`.
import { STATUS_CODES } from 'node:http'
import { pipeline } from 'node:stream'
import { endpoint } from './endpoint.js'
import type { ApiRequest, Reply } from './endpoint.js'
import { single } from './envelope.js'
import { API } from './lookup.js'
import type { Params } from './params.js'
import { flagParam, stringParam } from './params.js'
import { badRequest, JSON_TYPE } from './respond.js'
import type { Router } from './router.js'
import { ANY, param } from './router.js'

const MiB = 1024 * 1024
const CHUNK_SIZE = 64 * 1024
// Shared by every /big response and never written to. Byte k of a /big body is k % 256, so a
// reader can check integrity without holding a copy.
const CHUNK = Buffer.alloc(
  CHUNK_SIZE,
  Uint8Array.from({ length: 256 }, (_, i) => i),
)

export function registerStreamRoutes(router: Router): void {
  const pub = { scope: 'public' } as const
  router
    .on('GET', `${API}/big`, endpoint(pub, big))
    .on('GET', `${API}/slow`, endpoint(pub, slow))
    .on('GET', `${API}/hang`, endpoint(pub, hang))
    .on('GET', `${API}/gate/:name`, endpoint(pub, gate))
    .on(ANY, `${API}/echo`, endpoint({ ...pub, ownsBody: true }, echo))
    .on(['POST', 'PUT'], `${API}/upload`, endpoint({ ...pub, ownsBody: true }, upload))
    .on(
      'GET',
      `${API}/redirect/self`,
      endpoint(pub, (api) => redirect(api, `${api.sim.origin}${API}/stacks.json`)),
    )
    .on(
      'GET',
      `${API}/redirect/s3`,
      endpoint(pub, (api) => redirect(api, `${api.sim.s3Origin}/backups/db.tar.gz?X-Amz-Signature=abc`)),
    )
    .on(ANY, `${API}/status/:code`, endpoint(pub, status))
}

/** `?mb=N` (fractional allowed) or `?bytes=N` of application/octet-stream, 64 KiB per write. */
function big(api: ApiRequest): void {
  const total = sizeParam(api.input)
  const { req, res } = api.ctx
  res.writeHead(200, {
    ...api.headers,
    'content-type': 'application/octet-stream',
    ...(flagParam(api.input, 'chunked') ? {} : { 'content-length': total }),
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  let remaining = total
  const pump = (): void => {
    while (remaining > 0) {
      if (res.destroyed) return // the client went away; 'drain' will never come
      const size = Math.min(remaining, CHUNK_SIZE)
      remaining -= size
      if (!res.write(size === CHUNK_SIZE ? CHUNK : CHUNK.subarray(0, size))) {
        res.once('drain', pump)
        return
      }
    }
    res.end()
  }
  pump()
}

function sizeParam(input: Params): number {
  const bytes = stringParam(input, 'bytes')
  const mb = stringParam(input, 'mb')
  const size = bytes !== undefined ? Number(bytes) : mb !== undefined ? Math.round(Number(mb) * MiB) : MiB
  if (!Number.isSafeInteger(size) || size < 0) throw badRequest('bytes must be a whole number >= 0, mb a number >= 0')
  return size
}

/**
 * `?chunks=N&interval_ms=M`: a JSON array written one element per chunk, M ms apart. The first
 * chunk goes out with the headers at once, so a buffering proxy shows up as a delayed first byte.
 */
function slow(api: ApiRequest): void {
  const chunks = intParam(api.input, 'chunks', 5, 1, 100_000)
  const interval = intParam(api.input, 'interval_ms', 100, 0, 3_600_000)
  const res = api.ctx.res
  res.writeHead(200, { ...api.headers, 'content-type': JSON_TYPE })
  let sent = 0
  let timer: NodeJS.Timeout | undefined
  res.once('close', () => clearTimeout(timer))
  const writeNext = (): void => {
    const element = `${sent === 0 ? '[' : ','}{"chunk":${sent},"of":${chunks}}\n`
    sent += 1
    if (sent === chunks) {
      res.end(`${element}]\n`)
    } else {
      res.write(element)
      timer = setTimeout(writeNext, interval)
    }
  }
  writeNext()
}

/**
 * Never answers; the request ends only when the client (or close()) drops the connection.
 * With `after_headers=1` it sends the head and the start of a body first, then stalls.
 */
function hang(api: ApiRequest): void {
  if (!flagParam(api.input, 'after_headers')) return
  api.ctx.res.writeHead(200, { ...api.headers, 'content-type': JSON_TYPE })
  api.ctx.res.write('{"response":[')
}

/**
 * Sends the head and the start of a JSON array at once, then waits for `sim.openGate(name)`
 * before it finishes the body (a HEAD waits before its head): an answer that is on its way exactly as long as a test needs.
 */
function gate(api: ApiRequest): void {
  const name = param(api.ctx, 'name')
  const res = api.ctx.res
  if (api.ctx.req.method === 'HEAD') {
    // A HEAD answer is complete with its head, so the head itself waits.
    void api.sim.gates.pass(name).then(() => {
      if (!res.destroyed) res.writeHead(200, { ...api.headers, 'content-type': JSON_TYPE }).end()
    })
    return
  }
  res.writeHead(200, { ...api.headers, 'content-type': JSON_TYPE })
  res.write('[')
  void api.sim.gates.pass(name).then(() => {
    if (!res.destroyed) res.end(`{"gate":${JSON.stringify(name)}}]\n`)
  })
}

/** Streams the body straight back, chunked, with the request's Content-Type; full duplex. */
function echo(api: ApiRequest): void {
  const { req, res } = api.ctx
  res.writeHead(200, { ...api.headers, 'content-type': req.headers['content-type'] ?? 'application/octet-stream' })
  // An error here only means one side went away; pipeline has already destroyed the other.
  pipeline(req, res, () => {})
}

/** Counts the body (the recorder reads it; nothing is buffered beyond the record's 1 MiB). */
async function upload(api: ApiRequest): Promise<Reply | void> {
  const body = await api.ctx.body
  if (!body.complete) return
  return { body: single({ bytes: body.bytes }) }
}

function redirect(api: ApiRequest, location: string): Reply | void {
  api.ctx.res.setHeader('location', location)
  return { status: 302, body: single({ ok: true, location }) }
}

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  402: 'trial_expired',
  403: 'forbidden',
  404: 'not_found',
  408: 'time_out',
  409: 'conflict',
  503: 'not_implemented',
}

/** Answers with status `:code`; errors carry the API's error body (`?error=` overrides the code). */
function status(api: ApiRequest): Reply | void {
  const code = Number(param(api.ctx, 'code'))
  if (!Number.isInteger(code) || code < 200 || code > 599) throw badRequest('code must be an HTTP status from 200 to 599')
  const text = STATUS_CODES[code] ?? 'Unknown'
  if (code === 204 || code === 304) {
    api.ctx.res.writeHead(code, api.headers)
    api.ctx.res.end()
    return
  }
  if (code < 400) return { status: code, body: single({ ok: true, status: code }) }
  const error = stringParam(api.input, 'error') ?? ERROR_CODES[code] ?? text.toLowerCase().replace(/\W+/g, '_')
  return { status: code, body: { error, error_description: `Simulated ${code} ${text}` } }
}

function intParam(input: Params, name: string, fallback: number, min: number, max: number): number {
  const raw = stringParam(input, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) throw badRequest(`${name} must be an integer from ${min} to ${max}`)
  return value
}
