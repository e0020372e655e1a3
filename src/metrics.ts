import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Every metric of the proxy, on a registry of its own (no global state), prefixed `c66_proxy_`.
 * Labels are bounded by construction: method from a fixed list, route from the endpoint
 * templates, reasons and sources from closed unions. Never a raw path, caller or token.
 */
export function createMetrics(registry = new Registry()) {
  const on = { registers: [registry] }
  collectDefaultMetrics({ register: registry, prefix: 'c66_proxy_' })
  // prom-client names three gauges *_total, which Prometheus reserves for counters (promtool check
  // metrics fails on them). Each is the sum of its per-type gauge without the suffix, which stays:
  // sum(c66_proxy_nodejs_active_handles) is the same number.
  for (const name of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`c66_proxy_nodejs_active_${name}_total`)
  const requestCounts = new Tally('method', 'route', 'status')
  const lookupCounts = new Tally('source', 'result')
  const inFlightRequests = new InFlight()
  const beforeScrape = new Set<() => void>()
  const takeBatches = () => {
    for (const hook of beforeScrape) hook()
  }
  return {
    registry,
    /** Run before the request metrics are read: the observer hands over what it has batched. */
    beforeScrape,
    /** Per-request counts of `requests`, added to it at scrape time. */
    requestCounts,
    /** Per-request counts of `tokenLookups`, added to it at scrape time. */
    lookupCounts,
    /** Requests being handled now: the `inFlight` gauge, and what a graceful shutdown waits for. */
    inFlightRequests,
    requests: new Counter({
      name: 'c66_proxy_requests_total',
      help: 'Requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'] as const,
      collect() {
        takeBatches()
        requestCounts.drainInto(this)
      },
      ...on,
    }),
    duration: new Histogram({
      name: 'c66_proxy_request_duration_seconds',
      help: 'Time from request to the end of the response, by route template',
      labelNames: ['route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      collect: takeBatches,
      ...on,
    }),
    inFlight: new Gauge({
      name: 'c66_proxy_requests_in_flight',
      help: 'Requests being handled now',
      collect() {
        this.set(inFlightRequests.count)
      },
      ...on,
    }),
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
      collect() {
        lookupCounts.drainInto(this)
      },
      ...on,
    }),
    rejected: new Counter({
      name: 'c66_proxy_rejected_requests_total',
      help: 'Requests refused by the proxy before reaching Cloud 66, by reason',
      labelNames: ['reason'] as const,
      ...on,
    }),
    upstreamConnections: new Counter({
      name: 'c66_proxy_upstream_connections_opened_total',
      help: 'Connections opened to Cloud 66, by TLS session: new (full handshake), resumed (session reused), none (plain http)',
      labelNames: ['tls_session'] as const,
      ...on,
    }),
    throttled: new Counter({
      name: 'c66_proxy_upstream_throttled_total',
      help: 'Cloud 66 answered 503 (its rate limit: 3,000 requests per user per hour)',
      ...on,
    }),
    shared: new Counter({
      name: 'c66_proxy_requests_shared_total',
      help: "Requests answered without a request of their own to Cloud 66: a copy of an identical request's answer (coalesced) or the micro-cache's (cache)",
      labelNames: ['how'] as const,
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

/**
 * Counts for a per-request counter, kept as plain numbers and added to the prom-client counter
 * when it is scraped (its `collect` hook). prom-client hashes the label set on every `inc`, even
 * through a bound child; on the hot path that was ~2 µs per counter per request (CPU profile).
 * Entries are found through one Map per label, keyed by the label values themselves (constant
 * strings, whose hashes V8 keeps), not by a joined string that would be built and hashed per call.
 * The label sets are bounded (callers pass fixed labels), so the maps cannot grow with traffic.
 */
export class Tally<L extends string> {
  readonly #names: readonly L[]
  readonly #root = new Map<string | number, unknown>()
  readonly #entries: Array<{ readonly labels: Partial<Record<L, string>>; n: number }> = []

  constructor(...names: L[]) {
    this.#names = names
  }

  /** Adds one to the series with these label values, in the order of the constructor's names. */
  add(...values: Array<string | number>): void {
    let map = this.#root
    const last = values.length - 1
    for (let i = 0; i < last; i++) {
      const key = values[i] as string | number
      let next = map.get(key) as Map<string | number, unknown> | undefined
      if (!next) map.set(key, (next = new Map()))
      map = next
    }
    const key = values[last] as string | number
    const entry = map.get(key) as { n: number } | undefined
    if (entry) {
      entry.n += 1
      return
    }
    const labels: Partial<Record<L, string>> = {}
    this.#names.forEach((name, i) => (labels[name] = String(values[i])))
    const fresh = { labels, n: 1 }
    this.#entries.push(fresh)
    map.set(key, fresh)
  }

  drainInto(counter: Counter<L>): void {
    for (const entry of this.#entries) {
      if (entry.n === 0) continue
      counter.inc(entry.labels, entry.n)
      entry.n = 0
    }
  }
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

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The method label: one of a fixed set, so a caller cannot mint new series. */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'other'
}
