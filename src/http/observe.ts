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

/** Counts requests being handled, so a graceful shutdown can wait for them (no listener per response). */
export class InFlight {
  count = 0
  #idle: (() => void) | undefined

  begin(): void {
    this.count += 1
  }

  end(): void {
    this.count -= 1
    if (this.count === 0) this.#idle?.()
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => (this.#idle = resolve))
  }
}

/** Called once per request after it ended (the gateway's audit log). */
export type RequestDone = (ctx: Koa.Context, state: RequestState, status: number, seconds: number) => void

/**
 * One JSON log line and one set of metric updates per request, whatever the outcome. The log
 * holds method, route template, status, duration, bytes and request id: never a header, query
 * or token, so there is nothing to redact.
 */
export function observeMiddleware(metrics: Metrics, log: Logger, isShuttingDown: () => boolean, inFlight: InFlight, done?: RequestDone): Koa.Middleware {
  // prom-client hashes the label object on every call; the label sets are bounded (fixed methods,
  // route templates, statuses), so the bound children are kept and reused (bench: ~5 µs/request).
  const counters = new Map<string, { inc(): void }>()
  const histograms = new Map<string, { observe(v: number): void }>()
  const countRequest = (method: string, route: string, status: number) => {
    const key = `${method} ${route} ${status}`
    let child = counters.get(key)
    if (!child) counters.set(key, (child = metrics.requests.labels({ method, route, status: String(status) })))
    child.inc()
  }
  const observeDuration = (route: string, seconds: number) => {
    let child = histograms.get(route)
    if (!child) histograms.set(route, (child = metrics.duration.labels({ route })))
    child.observe(seconds)
  }
  return async function observe(ctx, next) {
    const started = performance.now()
    const state = ctx.state as RequestState
    state.requestId = requestIdFor(ctx.req.headers)
    state.route = 'other'
    if (isShuttingDown()) ctx.res.shouldKeepAlive = false
    metrics.inFlight.inc()
    inFlight.begin()
    try {
      await next()
    } finally {
      metrics.inFlight.dec()
      inFlight.end()
      const seconds = (performance.now() - started) / 1000
      const result = state.result
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status
      const method = methodLabel(ctx.method)
      countRequest(method, state.route, status)
      observeDuration(state.route, seconds)
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
