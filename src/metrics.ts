import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Every metric of the proxy, on a registry of its own (no global state), prefixed `c66_proxy_`.
 * Labels are bounded by construction: method from a fixed list, route from the endpoint
 * templates, reasons and sources from closed unions. Never a raw path, caller or token.
 */
export function createMetrics(registry = new Registry()) {
  const on = { registers: [registry] }
  collectDefaultMetrics({ register: registry, prefix: 'c66_proxy_' })
  return {
    registry,
    requests: new Counter({
      name: 'c66_proxy_requests_total',
      help: 'Requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'] as const,
      ...on,
    }),
    duration: new Histogram({
      name: 'c66_proxy_request_duration_seconds',
      help: 'Time from request to the end of the response, by route template',
      labelNames: ['route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ...on,
    }),
    inFlight: new Gauge({ name: 'c66_proxy_requests_in_flight', help: 'Requests being handled now', ...on }),
    upstreamErrors: new Counter({
      name: 'c66_proxy_upstream_errors_total',
      help: 'Failures talking to Cloud 66, by reason',
      labelNames: ['reason'] as const,
      ...on,
    }),
    tokenLookups: new Counter({
      name: 'c66_proxy_token_lookups_total',
      help: 'Token lookups, by source and result (cache_hit, loaded, missing)',
      labelNames: ['source', 'result'] as const,
      ...on,
    }),
    rejected: new Counter({
      name: 'c66_proxy_rejected_requests_total',
      help: 'Requests refused by the proxy before reaching Cloud 66, by reason',
      labelNames: ['reason'] as const,
      ...on,
    }),
    throttled: new Counter({
      name: 'c66_proxy_upstream_throttled_total',
      help: 'Cloud 66 answered 503 (its rate limit: 3,000 requests per user per hour)',
      ...on,
    }),
    logins: new Counter({
      name: 'c66_proxy_logins_total',
      help: 'OAuth logins by outcome (started, success, denied, invalid_state, invalid_grant, rejected, unavailable, invalid_response)',
      labelNames: ['outcome'] as const,
      ...on,
    }),
    refreshes: new Counter({
      name: 'c66_proxy_token_refreshes_total',
      help: 'Token refreshes by outcome (success, adopted from another process, invalid_grant, error)',
      labelNames: ['outcome'] as const,
      ...on,
    }),
    refreshCoalesced: new Counter({
      name: 'c66_proxy_token_refresh_coalesced_total',
      help: 'Requests that waited for a refresh already in flight instead of starting their own',
      ...on,
    }),
    expiringSoon: new Gauge({
      name: 'c66_proxy_tokens_expiring_soon',
      help: 'Stored tokens that expire within 10 minutes (set at scrape time)',
      ...on,
    }),
    retries: new Counter({
      name: 'c66_proxy_upstream_401_total',
      help: 'Upstream 401 answers, by action taken (replayed, passed_through, login_required)',
      labelNames: ['action'] as const,
      ...on,
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The method label: one of a fixed set, so a caller cannot mint new series. */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'other'
}
