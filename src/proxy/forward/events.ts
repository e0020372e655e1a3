import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http'
import type { PassContext } from './context.js'
import { flightOf } from './flight.js'
import { onUnauthorized } from './replay.js'
import { respond } from './respond.js'
import { armUpstreamTimers } from './timers.js'

/** Once the upstream request exists: drop it if the caller already left, else arm its timers. */
export function upstreamRequestPass(ctx: PassContext) {
  return (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse): void => {
    const flight = flightOf(req)
    if (!flight) return
    flight.proxyReq = proxyReq
    if (flight.abandoned || res.destroyed) proxyReq.destroy()
    else armUpstreamTimers(ctx, flight, proxyReq, req)
  }
}

/** Once Cloud 66's response headers are in: a 401 goes to the replay pass, anything else to the caller. */
export function upstreamResponsePass(ctx: PassContext) {
  return (proxyRes: IncomingMessage, req: IncomingMessage): void => {
    const flight = flightOf(req)
    if (!flight) return
    flight.answered = true
    ctx.awaitingResponse.disarm(flight)
    if (flight.abandoned) proxyRes.resume()
    else if (proxyRes.statusCode === 401) onUnauthorized(ctx, flight, proxyRes)
    else respond(ctx, flight, proxyRes)
  }
}
