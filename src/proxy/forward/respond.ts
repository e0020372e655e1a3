import type { IncomingMessage } from 'node:http'
import { filterResponseHeaders } from '../headers.js'
import type { PassContext } from './context.js'
import type { Flight } from './flight.js'
import { respondThrottled } from './throttled.js'
import { IDLE_TIMEOUT, timeoutError } from './upstream-errors.js'

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
  const status = proxyRes.statusCode ?? 502
  if (status === 503) ctx.metrics.throttled.inc()
  if (status === 503 && ctx.throttledAs429) {
    void respondThrottled(ctx, flight, proxyRes)
    return
  }
  const { headers, contentLength } = filterResponseHeaders(proxyRes.rawHeaders, ctx.upstreamOrigin, flight.job.publicOrigin)
  res.writeHead(status, proxyRes.statusMessage, headers)
  if (contentLength !== undefined && contentLength <= SMALL_BODY_BYTES) passSmallBody(flight, proxyRes, status, contentLength)
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

/**
 * A small body of known length arrives with (or right after) its headers: it is passed on without
 * pipe() (pipe's set-up and tear-down of eight listeners cost ~4 µs per request, measured, and
 * its backpressure has nothing to hold back at this size) and without a socket timer of its own.
 * It is all there, or (the caller or upstream gone) counted as unknown. A caller that leaves
 * destroys the upstream request, which ends this.
 */
function passSmallBody(flight: Flight, proxyRes: IncomingMessage, status: number, contentLength: number): void {
  const res = flight.res
  flight.declaredBytes = res.req.method === 'HEAD' || status === 204 || status === 304 ? 0 : contentLength
  proxyRes.on('data', (chunk: Buffer) => res.write(chunk))
  proxyRes.once('end', () => res.end())
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
