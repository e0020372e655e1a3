import type { ClientRequest, IncomingMessage } from 'node:http'
import { watchPace } from '../read-body.js'
import type { PassContext } from './context.js'
import type { Flight } from './flight.js'
import { BODY_TIMEOUT, CONNECT_TIMEOUT, IDLE_TIMEOUT, timeoutError } from './upstream-errors.js'

/**
 * The timers of an upstream request once it exists: the connect timeout of a new socket, and for
 * a streamed upload its idle timeout and pace. The response timeout measures how long Cloud 66
 * takes to answer, not how long the caller takes to upload: for a streamed body (a 1 GB upload
 * may take minutes) it starts once the body is sent.
 */
export function armUpstreamTimers(ctx: PassContext, flight: Flight, proxyReq: ClientRequest, req: IncomingMessage): void {
  if (!flight.job.replayable) armUploadTimers(ctx, flight, proxyReq, req)
  const socket = proxyReq.socket
  if (socket?.connecting) {
    const connectTimer = setTimeout(() => proxyReq.destroy(timeoutError(CONNECT_TIMEOUT)), ctx.connectTimeoutMs)
    socket.once('connect', () => clearTimeout(connectTimer))
    proxyReq.once('close', () => clearTimeout(connectTimer))
  }
}

/**
 * A streamed upload is cut when it stalls (the idle timeout, reset by each chunk) or falls behind
 * its pace: the idle timer alone let a body that sends a byte every minute hold a pooled
 * connection for ever. Once it is sent, the response timeout starts.
 */
function armUploadTimers(ctx: PassContext, flight: Flight, proxyReq: ClientRequest, req: IncomingMessage): void {
  ctx.awaitingResponse.disarm(flight)
  const idle = setTimeout(() => proxyReq.destroy(timeoutError(IDLE_TIMEOUT)), ctx.idleTimeoutMs)
  const onData = () => idle.refresh()
  const stopPace = watchPace(req, ctx.pace, () => proxyReq.destroy(timeoutError(BODY_TIMEOUT)))
  const stop = () => {
    req.off('data', onData)
    clearTimeout(idle)
    stopPace()
  }
  req.on('data', onData)
  flight.res.once('close', stop)
  proxyReq.once('close', stop)
  proxyReq.once('finish', () => {
    stop()
    if (!flight.answered && !flight.abandoned) ctx.awaitingResponse.arm(flight)
  })
}
