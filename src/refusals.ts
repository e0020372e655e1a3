import { refusal, type ProxyError } from './errors.js'

/**
 * The catalogue of requests the proxy refuses itself: every refusal's status, stable `error`
 * code, metric reason and message, in one place. Guards, rules, limits and body readers return
 * or throw these; errorResponder is the one place that counts them and writes their body.
 * Each is made when it is needed (an Error is cheap to make, but not free to keep around).
 */
export const refuse = {
  // ── the request target (RFC 9112 §3.2) ────────────────────────────────────────────────
  method: (method: string) => refusal(405, 'method_not_allowed', 'method', `${method} is not supported by this proxy`),
  asteriskForm: () => refusal(400, 'invalid_request_target', 'asterisk_form', 'Asterisk-form request targets (OPTIONS *) are not accepted'),
  absoluteForm: () =>
    refusal(400, 'invalid_request_target', 'absolute_form', 'Only origin-form request targets (/path?query) are accepted; this is not a forward proxy'),
  fragment: () => refusal(400, 'invalid_request_target', 'fragment', 'A fragment (#) is not allowed in a request target'),
  backslash: () => refusal(400, 'invalid_path', 'backslash', 'Backslashes are not allowed in the path'),
  encodedSlash: () => refusal(400, 'invalid_path', 'encoded_slash', 'Encoded slashes (%2F) are not allowed in the path'),
  controlChar: () => refusal(400, 'invalid_path', 'control_char', 'Control characters are not allowed in the path'),
  embeddedUrl: () => refusal(400, 'invalid_path', 'embedded_url', 'A URL inside the path is not allowed'),
  emptySegment: () => refusal(400, 'invalid_path', 'empty_segment', 'Empty path segments (//) are not allowed'),
  dotSegment: () => refusal(400, 'invalid_path', 'dot_segment', 'Dot-segments (. and ..) are not allowed in the path'),

  // ── framing (RFC 9112 §6-7, RFC 9110 §7.6.1) ──────────────────────────────────────────
  missingHost: () => refusal(400, 'bad_request', 'missing_host', 'HTTP/1.1 requests must carry a Host header'),
  duplicateHost: () => refusal(400, 'bad_request', 'duplicate_host', 'A request may carry only one Host header (RFC 9112 §3.2)'),
  underscoreFraming: () =>
    refusal(
      400,
      'bad_request',
      'framing',
      'Content_Length and Transfer_Encoding are not accepted: some servers read them as Content-Length and Transfer-Encoding',
    ),
  http10Chunked: () => refusal(400, 'bad_request', 'framing', 'Transfer-Encoding is not accepted on an HTTP/1.0 request (RFC 9112 §6.1)'),
  transferCoding: () => refusal(400, 'bad_request', 'framing', 'The only Transfer-Encoding accepted is a single "chunked"'),
  connectionOption: (allowed: readonly string[], option: string) =>
    refusal(
      400,
      'bad_request',
      'connection_option',
      `The Connection header may only name hop-by-hop options (${allowed.join(', ')}), not ${JSON.stringify(option.slice(0, 40))}`,
    ),

  // ── who may call (DNS rebinding, cross-site requests, the local machine) ───────────────
  host: () =>
    refusal(
      403,
      'forbidden_host',
      'host',
      'The Host header does not name this proxy (DNS-rebinding protection); use http://localhost:<port> or add the name with --allowed-hosts',
    ),
  origin: () => refusal(403, 'forbidden_origin', 'origin', 'Requests from web pages of other origins are refused'),
  crossSite: () => refusal(403, 'forbidden_origin', 'sec_fetch_site', 'Cross-site requests from browsers are refused'),
  remote: () => refusal(403, 'forbidden_remote', 'remote', 'Only clients on this machine may use the local proxy'),
  foreignUser: () =>
    refusal(
      403,
      'foreign_user',
      'foreign_user',
      'This proxy acts as the OS user who runs it and serves only that user; its owner can share it with --allow-users',
    ),
  csrf: () => refusal(403, 'forbidden_origin', 'csrf', 'The form is stale or was not sent by this proxy (CSRF check failed); reload the page and try again'),

  // ── rules (--read-only, deny rules, a gateway key's policy) ───────────────────────────
  readOnly: () => refusal(403, 'read_only', 'read_only', 'The proxy runs with --read-only: only GET and HEAD reach Cloud 66'),
  denyRule: (whose: 'proxy' | 'gateway', source: string) => refusal(403, 'denied_by_policy', 'policy', `Refused by the ${whose}'s deny rule "${source}"`),
  readOnlyKey: () => refusal(403, 'read_only_key', 'read_only_key', 'This gateway key is read-only: only GET and HEAD are allowed'),
  keyMethod: (method: string) => refusal(403, 'denied_by_policy', 'key_policy', `This gateway key may not use ${method}`),
  keyPath: () => refusal(403, 'denied_by_policy', 'key_policy', "This path is outside the gateway key's allowed paths"),
  keyDenyRule: (source: string) => refusal(403, 'denied_by_policy', 'key_policy', `Refused by the gateway key's deny rule "${source}"`),
  keyStacks: () => refusal(403, 'denied_by_policy', 'key_policy', 'This gateway key is limited to other stacks'),
  methodOverride: () =>
    refusal(
      400,
      'method_override',
      'method_override',
      'Method overrides (X-HTTP-Method-Override, a _method parameter) are refused: Cloud 66 would run another method than the one the proxy checked. Send the real method.',
    ),
  adminsOnly: () => refusal(403, 'denied_by_policy', 'admin_only', 'Only gateway admins (--admins) may do this'),
  keysForBotsOnly: () =>
    refusal(
      403,
      'denied_by_policy',
      'key_for_person',
      "A key acts with its member's own Cloud 66 token: admins issue keys for bots (service:NAME) only; people create their own keys on /-/",
    ),

  // ── who is calling (gateway) ───────────────────────────────────────────────────────────
  noKey: () =>
    refusal(
      401,
      'unidentified',
      'unidentified',
      "Every request to the gateway must carry a gateway key: Authorization: Bearer c66p_… or HTTP Basic with the key as password (curl -u me:c66p_…). Create one on the gateway's /-/ page.",
    ),
  notSignedIn: () => refusal(401, 'unidentified', 'unidentified', 'Sign in first: open /-/ and log in with Cloud 66'),
  invalidIdentity: () =>
    refusal(401, 'unidentified', 'unidentified', 'The single-sign-on identity header does not hold an e-mail address, so it names no member'),
  invalidKey: () => refusal(401, 'invalid_key', 'invalid_key', 'The gateway key is unknown, expired or revoked'),
  notAKey: () => refusal(401, 'invalid_key', 'invalid_key', 'This is not a gateway key (gateway keys start with c66p_); a Cloud 66 token is not accepted here'),

  // ── no token to send ───────────────────────────────────────────────────────────────────
  noToken: (message: string) => refusal(401, 'no_token', 'no_token', message),
  loginRequired: (message: string) => refusal(401, 'login_required', 'login_required', message),

  // ── limits ─────────────────────────────────────────────────────────────────────────────
  memberRate: (rate: string, after: number) =>
    refusal(
      429,
      'rate_limited',
      'rate_limited',
      `This member's gateway budget (${rate}) is used up; retry in ${after} s. Cloud 66 allows 3,000 requests per user per hour.`,
      { 'Retry-After': String(after) },
    ),
  loginRate: (rate: string, after: number) =>
    refusal(429, 'rate_limited', 'login_rate', `Too many logins started from this address (${rate}); retry in ${after} s`, { 'Retry-After': String(after) }),
  budgetExhausted: (why: 'spent' | 'throttled', retryAfterSeconds: number, windowEnd: number) =>
    refusal(
      429,
      'budget_exhausted',
      why === 'spent' ? 'budget_spent' : 'budget_throttled',
      `${why === 'spent' ? "Cloud 66's hourly request budget for this user is spent" : 'Cloud 66 answered 503 throttled: its hourly request budget for this user is spent'}; the proxy holds requests until ${new Date(windowEnd).toISOString().slice(11, 16)} UTC (retry in ${retryAfterSeconds} s) instead of sending ones that can only be refused. See /-/ for the budget.`,
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  tooManyConcurrent: (limit: number) =>
    refusal(
      429,
      'too_many_concurrent',
      'too_many_concurrent',
      `This member already has ${limit} requests in flight to Cloud 66 (--member-concurrency); wait for one to finish`,
      { 'Retry-After': '1' },
    ),

  // ── bodies: Connection: close, so the rest of a refused body is never read ───────────
  bodyTimeout: () =>
    refusal(408, 'body_timeout', 'body_timeout', 'The request body arrived too slowly (see --request-body-timeout and --min-upload-rate)', {
      Connection: 'close',
    }),
  bodyEndedEarly: () => refusal(400, 'bad_request', 'body_incomplete', 'The request body ended early'),
  bodyLongerThanDeclared: () => refusal(400, 'bad_request', 'body_incomplete', 'The request body is longer than its Content-Length'),
  bodyTooLarge: (what: string) => refusal(413, 'payload_too_large', 'body_too_large', what, { Connection: 'close' }),
  uncheckableType: () =>
    refusal(
      415,
      'unsupported_media_type',
      'body_type',
      "A parameter rule applies, and this body's Content-Type is not one the proxy can check (form, multipart or JSON)",
    ),
  encodedBody: () => refusal(415, 'unsupported_media_type', 'body_type', 'The proxy cannot check the parameters of a body with a Content-Encoding'),
  jsonRequired: () => refusal(415, 'unsupported_media_type', 'body_type', 'The gateway API requires Content-Type: application/json'),
  formRequired: () => refusal(400, 'bad_request', 'body_type', 'Expected a form submission'),
  invalidJson: (what = 'The request body is not valid JSON') => refusal(400, 'bad_request', 'body_json', what),

  // ── the proxy's own endpoints ─────────────────────────────────────────────────────────
  notFound: (message: string) => refusal(404, 'not_found', 'not_found', message),
  methodNotAllowedHere: () => refusal(405, 'method_not_allowed', 'method', 'Method not allowed on this endpoint'),
} satisfies Record<string, (...args: never[]) => ProxyError>
