import type { IncomingMessage } from 'node:http'
import type { Config } from '../../config/types.js'
import type { Logger } from '../../log.js'
import type { Metrics } from '../../metrics.js'
import type { BodyPace } from '../read-body.js'
import { Deadlines } from './deadlines.js'
import type { Flight } from './flight.js'
import { IDLE_TIMEOUT, RESPONSE_TIMEOUT, timeoutError } from './upstream-errors.js'

/** What the forwarder's passes share: settings read once, and the forwarder's own two moves. */
export interface PassContext {
  readonly upstreamOrigin: string
  readonly connectTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly pace: BodyPace
  /** OAuth is configured, so a 401's hint may name /-/login. */
  readonly loginConfigured: boolean
  readonly metrics: Metrics
  readonly log: Logger
  /** The response timeout: from the request sent (a streamed body: fully sent) to the headers. */
  readonly awaitingResponse: Deadlines<Flight>
  /** The idle timeout of a small response body, from its headers to its end. */
  readonly awaitingBody: Deadlines<Flight>
  /** Sends (or sends again) the flight's request upstream. */
  send(flight: Flight, req: IncomingMessage): void
  /** Ends the flight with an upstream failure. */
  fail(flight: Flight, err: NodeJS.ErrnoException): void
}

export /** The settings the passes read, read once, and the response timeout that ends a flight with `fail`. */
function passContext(config: Config, metrics: Metrics, log: Logger, moves: Pick<PassContext, 'send' | 'fail'>): PassContext {
  return {
    upstreamOrigin: config.upstream.origin,
    connectTimeoutMs: config.connectTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    pace: { timeoutMs: config.requestBodyTimeoutMs, minRate: config.minUploadRate },
    loginConfigured: config.oauth.clientId !== undefined,
    metrics,
    log,
    awaitingResponse: new Deadlines<Flight>(config.responseTimeoutMs, (flight) => {
      if (flight.proxyReq) flight.proxyReq.destroy(timeoutError(RESPONSE_TIMEOUT))
      else moves.fail(flight, timeoutError(RESPONSE_TIMEOUT)) // still waiting for a pooled socket
    }),
    awaitingBody: new Deadlines<Flight>(config.idleTimeoutMs, (flight) => flight.proxyReq?.destroy(timeoutError(IDLE_TIMEOUT))),
    ...moves,
  }
}
