import { STATUS_CODES, type IncomingMessage } from 'node:http'
import { filterResponseHeaders } from '../headers.js'
import type { PassContext } from './context.js'
import type { Flight } from './flight.js'
import { respondThrottled } from './throttled.js'
import { BAD_UPSTREAM, IDLE_TIMEOUT, timeoutError } from './upstream-errors.js'

/** Responses up to this size with a Content-Length get no idle timer of their own. */
const SMALL_BODY_BYTES = 64 * 1024

/**
 * The response pass: Cloud 66's status, filtered headers (no cookies or hop-by-hop fields,
 * `Location` on the upstream rewritten to the proxy) and body, streamed to the caller.
 */
export function respond(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): void {
  const res = flight.res
  if (res.destroyed) {
    proxyRes.resume()
    return
  }
  const status = proxyRes.statusCode ?? 0
  // Node's parser takes any three digits; writeHead throws on a status outside 100-999.
  if (status < 200 || status > 599) return refuseAnswer(ctx, flight, proxyRes)
  if (status === 503) ctx.metrics.throttled.inc()
  if (status === 503) {
    void respondThrottled(ctx, flight, proxyRes)
    return
  }
  const { headers, contentLength, unsafeLocation } = filterResponseHeaders(proxyRes.rawHeaders, ctx.upstreamOrigin, flight.job.publicOrigin)
  if (unsafeLocation) return refuseAnswer(ctx, flight, proxyRes)
  const reason = reasonPhrase(status, proxyRes.statusMessage)
  res.writeHead(status, reason, headers)
  const tap = flight.job.tap
  if (tap !== undefined) tapBody(tap, proxyRes, status, reason, headers)
  if (contentLength !== undefined && contentLength <= SMALL_BODY_BYTES) passSmallBody(ctx, flight, proxyRes, status, contentLength)
  else streamBody(ctx, flight, proxyRes)
  proxyRes.once('close', () => {
    // The upstream broke off: destroying the client connection is the only honest signal left
    // once headers are out (a clean end would make a truncated body look complete).
    if (!proxyRes.complete && !res.destroyed) {
      flight.upstreamBroken = true
      ctx.metrics.upstreamErrors.inc({ reason: 'broken_body' })
      res.destroy()
    }
  })
}

/** Tells the tap what the caller is given; the listeners see the same chunks the caller's paths do. */
function tapBody(tap: NonNullable<Flight['job']['tap']>, proxyRes: IncomingMessage, status: number, reason: string, headers: readonly string[]): void {
  tap.head(status, reason, headers)
  proxyRes.on('data', (chunk: Buffer) => tap.chunk(chunk))
  proxyRes.once('end', () => tap.end(true))
  proxyRes.once('close', () => {
    if (!proxyRes.complete) tap.end(false)
  })
}

/**
 * An answer the proxy will not pass on (a status out of range, a script Location): 502, and the
 * upstream connection is closed rather than returned to the pool.
 */
function refuseAnswer(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): void {
  proxyRes.destroy()
  ctx.fail(flight, timeoutError(BAD_UPSTREAM))
}

/** A reason phrase writeHead accepts: the upstream's, unless it holds a control character (then the standard one). */
function reasonPhrase(status: number, given: string | undefined): string {
  if (given === 'OK' || (given !== undefined && !/[^\t\x20-\x7e\x80-\xff]/.test(given))) return given
  return STATUS_CODES[status] ?? ''
}

/**
 * A small body of known length arrives with (or right after) its headers: it is passed on without
 * pipe() (pipe's set-up and tear-down of eight listeners cost ~4 µs per request, measured, and
 * its backpressure has nothing to hold back at this size). It is all there, or (the caller or
 * upstream gone) counted as unknown. One that stalls is cut after the idle timeout, by the
 * forwarder's shared deadline check rather than a timer of its own (a socket timer armed and
 * disarmed per request was measurable work). A caller that leaves destroys the upstream request,
 * which ends this.
 */
function passSmallBody(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage, status: number, contentLength: number): void {
  const res = flight.res
  flight.declaredBytes = res.req.method === 'HEAD' || status === 204 || status === 304 ? 0 : contentLength
  ctx.awaitingBody.arm(flight)
  proxyRes.on('data', (chunk: Buffer) => res.write(chunk))
  proxyRes.once('end', () => {
    ctx.awaitingBody.disarm(flight)
    res.end()
  })
}

/**
 * A body that may be large or slow streams with backpressure, its bytes counted. A stalled one is
 * cut after the idle timeout by the socket's own inactivity timer: Node re-arms it on every read
 * and write, where a JavaScript timer refreshed per chunk cost ~5 % of the streaming CPU
 * (measured), and clears it when the socket goes back to the pool.
 */
function streamBody(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): void {
  const proxyReq = flight.proxyReq
  proxyReq?.setTimeout(ctx.idleTimeoutMs, () => proxyReq.destroy(timeoutError(IDLE_TIMEOUT)))
  proxyRes.on('data', (chunk: Buffer) => {
    flight.bytesOut += chunk.length
  })
  proxyRes.pipe(flight.res)
}
