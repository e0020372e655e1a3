import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { PassContext } from './context.js'
import { flightOf } from './flight.js'
import { onUnauthorized } from './replay.js'
import { respond } from './respond.js'
import { armUpstreamTimers } from './timers.js'
import { BAD_UPSTREAM, timeoutError } from './upstream-errors.js'

/** Once the upstream request exists: drop it if the caller already left, else arm its timers. */
export function upstreamRequestPass(ctx: PassContext) {
  return (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse): void => {
    const flight = flightOf(req)
    if (!flight) return
    flight.proxyReq = proxyReq
    if (flight.abandoned || res.destroyed) {
      proxyReq.destroy()
      return
    }
    armUpstreamTimers(ctx, flight, proxyReq, req)
    // Interim answers: 100 Continue and 103 Early Hints are normal, and are not passed on; any
    // other 1xx (a 102 or 199 flood) is refused, and so is a 101 to a request that asked for no
    // upgrade (Node would otherwise hand over the raw socket, or relay it as a final answer).
    proxyReq.on('information', (info: { statusCode: number }) => {
      // fail() first: Node goes on parsing the same bytes and may emit a final answer next.
      if (info.statusCode !== 100 && info.statusCode !== 103) ctx.fail(flight, timeoutError(BAD_UPSTREAM))
    })
    proxyReq.once('upgrade', (_res: IncomingMessage, socket: Socket) => {
      socket.destroy()
      ctx.fail(flight, timeoutError(BAD_UPSTREAM))
    })
  }
}

/** Once Cloud 66's response headers are in: a 401 goes to the replay pass, anything else to the caller. */
export function upstreamResponsePass(ctx: PassContext) {
  return (proxyRes: IncomingMessage, req: IncomingMessage): void => {
    const flight = flightOf(req)
    if (!flight) return
    flight.answered = true
    ctx.awaitingResponse.disarm(flight)
    flight.job.meter?.answered(proxyRes.statusCode ?? 0, proxyRes.rawHeaders)
    if (flight.abandoned) proxyRes.resume()
    else if (proxyRes.statusCode === 401) onUnauthorized(ctx, flight, proxyRes)
    else respond(ctx, flight, proxyRes)
  }
}
