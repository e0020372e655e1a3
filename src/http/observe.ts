import { randomUUID } from 'node:crypto'
import type { ProxyContext, RequestState } from '../proxy/request-state.js'
import type { RequestLine, RequestLog } from '../log.js'
import { methodLabel, type Metrics } from '../metrics.js'
import { givenRequestId } from './request-id.js'

/** Called once per request after it ended (the gateway's audit log). */
export type RequestDone = (ctx: ProxyContext, state: RequestState, status: number, seconds: number) => void

/** Start and end of every request, whatever its outcome. */
export interface Observer {
  /** Returns the start time to hand to end(). */
  begin(ctx: ProxyContext): number
  end(ctx: ProxyContext, started: number): void
  /** Writes the batched log lines and metric updates now (shutdown, scrape). */
  flush(): void
}

/** How long a finished request's log line and metric updates may wait to be made with others. */
export const RECORD_BATCH_MS = 10

/**
 * One JSON log line and one set of metric updates per request, whatever the outcome. The log
 * holds method, route template, status, duration, bytes and request id: never a header, query
 * or token, so there is nothing to redact.
 *
 * The line and the metric updates are made in batches, at most RECORD_BATCH_MS after a request
 * ended, not inside each request: run one by one between the HTTP work they cost the proxy ~18 µs
 * of CPU per request, about four times what the same pino call costs in a loop; run back to back
 * they cost much less (`npm run bench`, small GETs at 50 connections). Off the request's path, they
 * also stop delaying the next request on a keep-alive connection (latency at one connection). A scrape of /-/metrics takes the batch first.
 */
export function createObserver(metrics: Metrics, requestLog: RequestLog, isShuttingDown: () => boolean, done?: RequestDone): Observer {
  // prom-client hashes the label object on every observe, even through a bound child; the
  // children are still kept so each route's series is only looked up once per request.
  const histograms = new Map<string, { observe(v: number): void }>()
  const observeDuration = (route: string, seconds: number) => {
    let child = histograms.get(route)
    if (!child) histograms.set(route, (child = metrics.duration.labels({ route })))
    child.observe(seconds)
  }
  const inFlight = metrics.inFlightRequests
  let pending: RequestLine[] = []
  let timer: NodeJS.Timeout | undefined
  metrics.beforeScrape.add(() => flush())
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = []
    for (const r of batch) {
      r.request_id ??= randomUUID()
      metrics.requestCounts.add(r.method, r.route, r.status)
      observeDuration(r.route, r.duration_ms / 1000)
    }
    requestLog.write(batch)
  }
  return {
    flush,
    begin(ctx) {
      const state = ctx.state
      state.route = 'other'
      if (isShuttingDown()) ctx.res.shouldKeepAlive = false
      inFlight.begin()
      return performance.now()
    },
    end(ctx, started) {
      inFlight.end()
      const state = ctx.state
      const seconds = (performance.now() - started) / 1000
      const result = state.result
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status
      done?.(ctx, state, status, seconds)
      timer ??= setTimeout(flush, RECORD_BATCH_MS)
      pending.push({
        // Read after done(): an error answer or an audit record may already have given it an id.
        request_id: state.requestId ?? givenRequestId(ctx.req.headers),
        client: state.client,
        method: methodLabel(ctx.req.method),
        route: state.route,
        status,
        duration_ms: Math.round(seconds * 100_000) / 100,
        bytes_in: Number(ctx.req.headers['content-length'] ?? 0) || undefined,
        bytes_out: result?.bytesOut ?? ctx.response.length,
        outcome: result?.outcome,
      })
    },
  }
}
