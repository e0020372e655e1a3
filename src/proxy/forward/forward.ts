import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type httpProxy from 'http-proxy'
import type { Config } from '../../config/types.js'
import type { Logger } from '../../log.js'
import type { Metrics } from '../../metrics.js'
import { passContext, type PassContext } from './context.js'
import { upstreamRequestPass, upstreamResponsePass } from './events.js'
import { flightOf, resultOf, startFlight, type Flight, type ForwardJob, type ForwardResult } from './flight.js'
import { upstreamProxy } from './upstream-proxy.js'
import { BODY_TIMEOUT, classifyUpstreamError } from './upstream-errors.js'

export type { ForwardJob, ForwardResult } from './flight.js'

export interface Forwarder {
  /** Settles when the response is over: resolves once it was started, rejects with a ProxyError before that. */
  forward(req: IncomingMessage, res: ServerResponse, job: ForwardJob): Promise<ForwardResult>
  close(): void
}

/**
 * The forwarding layer: http-proxy with a keep-alive pool, built once. The proxy handles the
 * response itself (`selfHandleResponse`) so it can drop cookies, rewrite `Location`, replay once
 * after a 401, and destroy the client connection when the upstream breaks off mid-body. It also
 * aborts the upstream request as soon as the client goes away, which http-proxy stopped doing on
 * Node ≥ 15.5 (http-party/node-http-proxy#1559). Each step of a request's way lives in a pass of
 * its own (timers, respond, replay, throttled), sharing the request's Flight.
 */
export function createForwarder(config: Config, metrics: Metrics, log: Logger): Forwarder {
  const { agent, proxy, stopIdleSweep } = upstreamProxy(config, (session) => metrics.upstreamConnections.inc({ tls_session: session }))
  // The series that can occur start at 0, so a scrape shows "no connection opened yet" as such.
  for (const session of config.upstream.protocol === 'https:' ? ['new', 'resumed'] : ['none']) metrics.upstreamConnections.inc({ tls_session: session }, 0)
  const ctx = passContext(config, metrics, log, { send, fail })

  proxy.on('proxyReq', upstreamRequestPass(ctx))
  proxy.on('proxyRes', upstreamResponsePass(ctx))
  // http-proxy reports a reset to a caller whose socket is gone as this event, not to the
  // request's callback: the flight must still end (and its pooled slot, budget and waiters go on).
  proxy.on('econnreset', (err: NodeJS.ErrnoException, req: IncomingMessage) => {
    const flight = flightOf(req)
    if (flight) fail(flight, err)
  })

  function send(flight: Flight, req: IncomingMessage) {
    flight.attempt += 1
    flight.proxyReq = undefined
    flight.job.meter?.sent()
    // Until a pooled socket is free this also bounds the wait for one; a streamed body restarts
    // the timeout once it is sent (armUpstreamTimers).
    ctx.awaitingResponse.arm(flight)
    // The bearer goes in as a request header (the caller's own Authorization was stripped), not
    // as per-request options: http-proxy copies its whole option set for any request that has
    // some, measurable per request. Only a buffered body needs them.
    req.headers.authorization = `Bearer ${flight.token.reveal()}`
    const onError = (err: NodeJS.ErrnoException) => fail(flight, err)
    if (flight.job.body === undefined) webWithoutOptions(proxy, req, flight.res, onError)
    else proxy.web(req, flight.res, { buffer: Readable.from([flight.job.body]) }, onError)
    // web() has built the upstream request, headers copied, before it returns: the token does not
    // stay on the caller's request object, where an error handler or a debugger could print it.
    delete req.headers.authorization
  }

  function fail(flight: Flight, err: NodeJS.ErrnoException) {
    ctx.awaitingResponse.disarm(flight)
    ctx.awaitingBody.disarm(flight)
    if (flight.abandoned) return // the client left first: nothing to answer, nothing to count
    flight.abandoned = true
    flight.proxyReq?.destroy()
    const { error, reason } = classifyUpstreamError(err)
    // A caller's slow body is counted as a refusal, by the error responder; the rest are Cloud 66's.
    if (err.code !== BODY_TIMEOUT) metrics.upstreamErrors.inc({ reason })
    if (flight.res.headersSent) {
      flight.upstreamBroken = true
      flight.res.destroy()
      return
    }
    log.warn({ err_code: err.code, reason }, 'upstream request failed')
    flight.settle(error)
  }

  return {
    forward(req, res, job) {
      return new Promise<ForwardResult>((resolve, reject) => {
        const flight = startFlight(req, res, job, resolve, reject)
        if (!followCaller(ctx, flight)) return
        req.url = job.upstreamPath
        send(flight, req)
      })
    },
    close() {
      ctx.awaitingResponse.close()
      ctx.awaitingBody.close()
      proxy.close()
      stopIdleSweep()
      agent.destroy()
    },
  }
}

/**
 * Ends the flight when the caller's connection closes; a caller that left early stops the upstream
 * request at once. False when the caller hung up while the request was being prepared: its
 * 'close' has been and gone (and http-proxy would swallow the upstream's reset), so the flight
 * ends now as client_gone and nothing is sent.
 */
function followCaller(ctx: PassContext, flight: Flight): boolean {
  const { req, res } = flight
  if (res.destroyed || req.socket.destroyed) {
    flight.abandoned = true
    flight.settle(resultOf(flight, false))
    return false
  }
  res.once('close', () => {
    ctx.awaitingResponse.disarm(flight)
    ctx.awaitingBody.disarm(flight)
    const complete = res.writableFinished
    if (!complete) {
      // The caller went away (or we destroyed the socket): stop the upstream at once.
      flight.abandoned = true
      flight.proxyReq?.destroy()
    }
    flight.settle(resultOf(flight, complete))
  })
  return true
}

/**
 * http-proxy's documented three-argument form, web(req, res, callback). Its types declare web()
 * only with options, and an `undefined` in their place would be copied like options.
 */
function webWithoutOptions(proxy: httpProxy, req: IncomingMessage, res: ServerResponse, callback: (err: NodeJS.ErrnoException) => void): void {
  const web = proxy.web as unknown as (this: httpProxy, req: IncomingMessage, res: ServerResponse, callback: (err: NodeJS.ErrnoException) => void) => void
  web.call(proxy, req, res, callback)
}
