import { randomUUID } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Metrics } from '../metrics.js'

const EXPECTS_CONTINUE = Symbol('c66-proxy.expects-continue')
type MarkedRequest = IncomingMessage & { [EXPECTS_CONTINUE]?: boolean }

export const expectsContinue = (req: IncomingMessage): boolean => (req as MarkedRequest)[EXPECTS_CONTINUE] === true

/**
 * The raw HTTP server around the Koa callback. Problems Node finds before a request exists
 * (oversized or malformed headers, CONNECT) get a JSON answer here and the process carries on.
 */
export function createHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: {
    maxHeaderBytes: number
    metrics: Metrics
    tls?: { cert: Buffer; key: Buffer }
    /** A cap on open connections per peer address (the gateway); `exempt` peers (a trusted front) have none. */
    perClient?: { max: number; exempt: (address: string | undefined) => boolean }
  },
): http.Server {
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: options.maxHeaderBytes,
    // A 1 GB upload may take longer than Node's default 5-minute request timeout; stalled
    // transfers are cut by the forwarder's idle timeout instead. Slow headers still time out.
    requestTimeout: 0,
    headersTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Node answers an HTTP/1.1 request without Host with a bare, empty 400 of its own; the
    // guard answers it instead, with the proxy's JSON error and a request id.
    requireHostHeader: false,
  }
  // The gateway may serve HTTPS itself (--tls-cert/--tls-key); an https.Server is an http.Server.
  const server: http.Server = options.tls
    ? https.createServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, handler)
    : http.createServer(serverOptions, handler)
  if (options.perClient) capConnections(server, options.perClient, options.metrics)
  // Answer `Expect: 100-continue` only after the token is known, so a refused upload is never sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    ;(req as MarkedRequest)[EXPECTS_CONTINUE] = true
    handler(req, res)
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    options.metrics.rejected.inc({ reason: tooLarge ? 'headers_too_large' : timedOut ? 'timeout' : 'malformed' })
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const [status, code, message] = tooLarge
      ? [431, 'headers_too_large', 'Request headers are too large']
      : timedOut
        ? [408, 'bad_request', 'The request took too long to arrive']
        : [400, 'bad_request', 'Malformed HTTP request']
    socket.end(rawJson(status, { error: code, message }))
  })
  // CONNECT never becomes a request event; refuse it here: this is not a forward proxy.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    options.metrics.rejected.inc({ reason: 'method' })
    socket.end(rawJson(405, { error: 'method_not_allowed', message: 'CONNECT is not supported by this proxy' }))
  })
  return server
}

/**
 * Closes a connection at once when its peer already holds `max` open ones: before TLS, before a
 * request, before anything is read, so a stranger cannot hold hundreds of sockets open (slow
 * headers, idle keep-alive, unfinished bodies) for the cost of a few bytes each.
 */
function capConnections(server: http.Server, cap: { max: number; exempt: (address: string | undefined) => boolean }, metrics: Metrics): void {
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (address === undefined || cap.exempt(address)) return
    const count = (open.get(address) ?? 0) + 1
    if (count > cap.max) {
      metrics.rejected.inc({ reason: 'too_many_connections' })
      socket.destroy()
      return
    }
    open.set(address, count)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}

/** Answers written before Koa sees a request still follow the error contract, request_id included. */
function rawJson(status: number, body: { error: string; message: string }): string {
  const text = JSON.stringify({ ...body, request_id: randomUUID() })
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
}
