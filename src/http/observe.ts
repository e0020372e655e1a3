import type Koa from 'koa'
import type { Logger } from '../log.js'
import { methodLabel, type Metrics } from '../metrics.js'
import type { ForwardResult } from '../proxy/forward.js'
import type { CallerInfo } from '../proxy/handler.js'
import { requestIdFor } from './request-id.js'

/** What the handlers tell the observer about a request. */
export interface RequestState {
  requestId: string
  route: string
  result?: ForwardResult
  /** Set once the caller is identified (gateway: the member and key). */
  caller?: CallerInfo
  /** The stack a request is about, for the audit log. */
  stackId?: string
}

/** Called once per request after it ended (the gateway's audit log). */
export type RequestDone = (ctx: Koa.Context, state: RequestState, status: number, seconds: number) => void

/**
 * One JSON log line and one set of metric updates per request, whatever the outcome. The log
 * holds method, route template, status, duration, bytes and request id: never a header, query
 * or token, so there is nothing to redact.
 */
export function observeMiddleware(metrics: Metrics, log: Logger, isShuttingDown: () => boolean, done?: RequestDone): Koa.Middleware {
  return async function observe(ctx, next) {
    const started = performance.now()
    const state = ctx.state as RequestState
    state.requestId = requestIdFor(ctx.req.headers)
    state.route = 'other'
    if (isShuttingDown()) ctx.res.shouldKeepAlive = false
    metrics.inFlight.inc()
    try {
      await next()
    } finally {
      metrics.inFlight.dec()
      const seconds = (performance.now() - started) / 1000
      const result = state.result
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status
      const method = methodLabel(ctx.method)
      metrics.requests.inc({ method, route: state.route, status: String(status) })
      metrics.duration.observe({ route: state.route }, seconds)
      done?.(ctx, state, status, seconds)
      log.info({
        request_id: state.requestId,
        method,
        route: state.route,
        status,
        duration_ms: Math.round(seconds * 100_000) / 100,
        bytes_in: Number(ctx.req.headers['content-length'] ?? 0) || undefined,
        bytes_out: result?.bytesOut ?? ctx.response.length,
        outcome: result?.outcome,
      }, 'request')
    }
  }
}
