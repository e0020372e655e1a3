import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http'
import type { ProxyError } from '../../errors.js'
import type { Secret } from '../../secret.js'
import type { BudgetMeter } from '../../budget/budget-book.js'

/**
 * Sees the response exactly as the caller gets it (status, the filtered headers, the body), so
 * that other callers waiting for the same GET can be given a copy (see shared-gets.ts).
 */
export interface ResponseTap {
  head(status: number, reason: string, headers: readonly string[]): void
  chunk(data: Buffer): void
  /** The body ended: complete, or cut short. */
  end(complete: boolean): void
}

/** One request to forward. */
export interface ForwardJob {
  readonly upstreamPath: string
  readonly token: Secret
  /** The whole request body when it was small enough to buffer; undefined streams `req` instead. */
  readonly body: Buffer | undefined
  /** True when the body is buffered or absent, so the request can be sent a second time. */
  readonly replayable: boolean
  /** The proxy's own origin as the caller sees it, for `Location` rewriting. */
  readonly publicOrigin: string
  /** Asked on an upstream 401 of a replayable request: a different token to retry with, or undefined. */
  readonly onUnauthorized: (current: Secret) => Promise<Secret | undefined>
  /** Told of every request sent to Cloud 66 for this job and of its answers (the hourly budget). */
  readonly meter?: BudgetMeter
  /** Given the response as the caller gets it. */
  readonly tap?: ResponseTap
}

export interface ForwardResult {
  readonly status: number
  /** Body bytes sent to the caller; undefined when not counted (a small response cut short). */
  readonly bytesOut: number | undefined
  /** ok, or why the response did not complete: the client left, or the upstream broke off. */
  readonly outcome: 'ok' | 'client_gone' | 'upstream_broken'
  /** Set when no request of this caller's went to Cloud 66: the answer was another's copy, or cached. */
  readonly shared?: 'coalesced' | 'cache'
}

/**
 * One request on its way to Cloud 66 and back: what it carries, where it stands, and how it
 * ends. The passes (timers, response, 401 replay, throttling) share it; each sets only its part.
 */
export interface Flight {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly job: ForwardJob
  token: Secret
  attempt: number
  proxyReq: ClientRequest | undefined
  /** Set when the caller no longer wants an answer (gone, or already answered with an error). */
  abandoned: boolean
  /** Set when the upstream's response headers arrived. */
  answered: boolean
  upstreamBroken: boolean
  bytesOut: number
  /** Set instead of counting bytesOut for a small body of known length. */
  declaredBytes: number | undefined
  /** When the response timeout runs out (Deadlines). */
  deadlineAt: number
  /** Ends the forward: a result once the response started, or the error to answer with before that. Once only. */
  settle(outcome: ForwardResult | ProxyError): void
}

const FLIGHT = Symbol('c66-proxy.flight')
type FlightRequest = IncomingMessage & { [FLIGHT]?: Flight }

/** The flight of a request, found again from http-proxy's events (which pass only req and res). */
export const flightOf = (req: IncomingMessage): Flight | undefined => (req as FlightRequest)[FLIGHT]

export function startFlight(
  req: IncomingMessage,
  res: ServerResponse,
  job: ForwardJob,
  resolve: (r: ForwardResult) => void,
  reject: (e: ProxyError) => void,
): Flight {
  let settled = false
  const flight: Flight = {
    req,
    res,
    job,
    token: job.token,
    attempt: 0,
    proxyReq: undefined,
    abandoned: false,
    answered: false,
    upstreamBroken: false,
    bytesOut: 0,
    declaredBytes: undefined,
    deadlineAt: 0,
    settle(outcome) {
      if (settled) return
      settled = true
      if ('outcome' in outcome) resolve(outcome)
      else reject(outcome)
    },
  }
  ;(req as FlightRequest)[FLIGHT] = flight
  return flight
}

/** What the caller got, once the response is over (`complete`: it ended normally). */
export function resultOf(flight: Flight, complete: boolean): ForwardResult {
  return {
    status: flight.res.statusCode,
    bytesOut: flight.declaredBytes === undefined ? flight.bytesOut : complete ? flight.declaredBytes : undefined,
    outcome: complete ? 'ok' : flight.upstreamBroken ? 'upstream_broken' : 'client_gone',
  }
}
