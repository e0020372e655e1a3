/**
 * The closed catalogue of errors the proxy itself answers with. Every error body is
 * `{"error": code, "message": …, "request_id": …}`; codes are a stable contract for scripts.
 */
export type ProxyErrorCode =
  | 'no_token'
  | 'login_required'
  | 'oauth_unavailable'
  | 'store_unavailable'
  | 'bad_request'
  | 'method_override'
  | 'invalid_path'
  | 'invalid_request_target'
  | 'method_not_allowed'
  | 'forbidden_host'
  | 'forbidden_origin'
  | 'forbidden_remote'
  | 'foreign_user'
  | 'read_only'
  | 'read_only_key'
  | 'unidentified'
  | 'invalid_key'
  | 'rate_limited'
  | 'upstream_throttled'
  | 'budget_exhausted'
  | 'unsupported_media_type'
  | 'denied_by_policy'
  | 'headers_too_large'
  | 'not_found'
  | 'upstream_unreachable'
  | 'bad_upstream'
  | 'upstream_dns'
  | 'upstream_tls'
  | 'upstream_reset'
  | 'upstream_timeout'
  | 'payload_too_large'
  | 'body_timeout'
  | 'too_many_concurrent'
  | 'too_many_connections'
  | 'shutting_down'
  | 'internal'

export interface ProxyErrorOptions extends ErrorOptions {
  /** Response headers that belong to this error (e.g. Retry-After on a 429). */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * Set when the proxy refused the request itself (a guard, a rule, a limit): the label under
   * which c66_proxy_rejected_requests_total counts it. Failures (Cloud 66 unreachable, an
   * internal error) have none: they are counted where they happen.
   */
  readonly reason?: string
}

/** The one error shape the proxy answers with (see errorResponder, the one place that writes it). */
export class ProxyError extends Error {
  override readonly name = 'ProxyError'
  /** Response headers that belong to this error (e.g. Retry-After on a 429). */
  readonly headers: Readonly<Record<string, string>>
  readonly reason: string | undefined

  constructor(
    readonly code: ProxyErrorCode,
    readonly status: number,
    message: string,
    options?: ProxyErrorOptions,
  ) {
    super(message, options)
    this.headers = options?.headers ?? {}
    this.reason = options?.reason
  }
}

/** A request the proxy refuses itself, counted under `reason` (the catalogue is src/refusals.ts). */
export function refusal(status: number, code: ProxyErrorCode, reason: string, message: string, headers?: Readonly<Record<string, string>>): ProxyError {
  return new ProxyError(code, status, message, { reason, ...(headers ? { headers } : {}) })
}

/** Coerces anything thrown into a ProxyError without ever copying a foreign message (it may hold a secret). */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err
  // A store outage (Redis down, a lock held too long) is the store's to report, on any route.
  // Matched by name and code so that this leaf module does not import the store.
  const e = err as { name?: unknown; code?: unknown }
  if (e?.name === 'StoreError' && (e.code === 'store_unavailable' || e.code === 'store_locked')) {
    return new ProxyError('store_unavailable', 503, 'The token store is unreachable right now; try again shortly', { cause: err })
  }
  return new ProxyError('internal', 500, 'Internal proxy error', { cause: err })
}

/** One configuration problem, naming the setting (flag / variable / file key) it came from. */
export interface ConfigProblem {
  setting: string
  message: string
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n')}`)
  }
}
