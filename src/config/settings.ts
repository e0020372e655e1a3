/**
 * Every setting of the proxy, in one table: its config-file key, flag, environment variable
 * and kind. The CLI flags, the loader and the README's table are all derived from it, so a
 * setting cannot exist in one place and be missing from another.
 */
export type SettingKind = 'string' | 'bool' | 'int' | 'duration' | 'list' | 'listen' | 'url' | 'enum'

export interface Setting {
  /** Key in `config/default.json` and in a `--config` file; also commander's attribute name. */
  readonly key: string
  readonly flag: string
  readonly env: string
  readonly kind: SettingKind
  readonly description: string
  readonly choices?: readonly string[]
  /** Never echo the value of this setting in a message. */
  readonly secret?: boolean
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'mode',
    flag: '--mode',
    env: 'C66_PROXY_MODE',
    kind: 'enum',
    choices: ['local', 'gateway'],
    description: "`local`: one user on one machine, loopback only. `gateway`: a shared team gateway where every request carries a member's gateway key.",
  },
  {
    key: 'listen',
    flag: '--listen',
    env: 'C66_PROXY_LISTEN',
    kind: 'listen',
    description: 'HOST:PORT to listen on (loopback only unless --unsafe-listen-any), or unix:/PATH for a socket only you can open (local mode).',
  },
  {
    key: 'upstream',
    flag: '--upstream',
    env: 'C66_PROXY_UPSTREAM',
    kind: 'url',
    description: 'Cloud 66 origin; requests go to <upstream>/api/3/…. https:// only, except loopback hosts or --unsafe-http-upstream.',
  },
  {
    key: 'tokenFile',
    flag: '--token-file',
    env: 'C66_PROXY_TOKEN_FILE',
    kind: 'string',
    description: 'A file holding a raw Cloud 66 token (or a cx token JSON). Re-read when it changes.',
  },
  {
    key: 'cxProfile',
    flag: '--cx-profile',
    env: 'C66_PROXY_CX_PROFILE',
    kind: 'string',
    description: 'Use the token file of this cx toolbelt profile (from ~/.cloud66/cxprofiles.json) instead of ~/.cloud66/cx.json.',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'C66_PROXY_LOG_LEVEL',
    kind: 'enum',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    description: 'Log level of the JSON log on standard output.',
  },
  {
    key: 'connectTimeout',
    flag: '--connect-timeout',
    env: 'C66_PROXY_CONNECT_TIMEOUT',
    kind: 'duration',
    description: 'Give up connecting to Cloud 66 after this long (504).',
  },
  {
    key: 'responseTimeout',
    flag: '--response-timeout',
    env: 'C66_PROXY_RESPONSE_TIMEOUT',
    kind: 'duration',
    description: 'Give up waiting for the response headers after this long (504).',
  },
  {
    key: 'idleTimeout',
    flag: '--idle-timeout',
    env: 'C66_PROXY_IDLE_TIMEOUT',
    kind: 'duration',
    description: 'Abort a transfer that has been silent this long.',
  },
  {
    key: 'shutdownGrace',
    flag: '--shutdown-grace',
    env: 'C66_PROXY_SHUTDOWN_GRACE',
    kind: 'duration',
    description: 'On SIGTERM/SIGINT, let in-flight requests finish for this long.',
  },
  {
    key: 'readOnly',
    flag: '--read-only',
    env: 'C66_PROXY_READ_ONLY',
    kind: 'bool',
    description: 'Only GET and HEAD reach Cloud 66; everything else gets 403 read_only.',
  },
  {
    key: 'denyPaths',
    flag: '--deny-path',
    env: 'C66_PROXY_DENY_PATHS',
    kind: 'list',
    description: 'Comma-separated path rules to refuse (403 denied_by_policy), e.g. "/accounts/otp,POST /stacks/*/deployments".',
  },
  {
    key: 'allowedHosts',
    flag: '--allowed-hosts',
    env: 'C66_PROXY_ALLOWED_HOSTS',
    kind: 'list',
    description: 'Extra Host names accepted besides localhost, 127.0.0.1 and [::1] (DNS-rebinding guard).',
  },
  {
    key: 'allowUsers',
    flag: '--allow-users',
    env: 'C66_PROXY_ALLOW_USERS',
    kind: 'list',
    description: 'Local mode: other OS users (names or uids) who may use this proxy, and so your Cloud 66 token. Default: only the user running it.',
  },
  {
    key: 'unsafeListenAny',
    flag: '--unsafe-listen-any',
    env: 'C66_PROXY_UNSAFE_LISTEN_ANY',
    kind: 'bool',
    description: 'UNSAFE: allow a non-loopback listen address and non-loopback clients (e.g. inside a container).',
  },
  {
    key: 'unsafeHttpUpstream',
    flag: '--unsafe-http-upstream',
    env: 'C66_PROXY_UNSAFE_HTTP_UPSTREAM',
    kind: 'bool',
    description: 'UNSAFE: allow a plain http:// upstream that is not on loopback.',
  },
  {
    key: 'clientId',
    flag: '--client-id',
    env: 'C66_CLIENT_ID',
    kind: 'string',
    description: 'Client ID of your OAuth application registered in Cloud 66 (enables "Log in with Cloud 66" and `c66-proxy login`).',
  },
  {
    key: 'clientSecretFile',
    flag: '--client-secret-file',
    env: 'C66_CLIENT_SECRET_FILE',
    kind: 'string',
    description: 'A file holding the OAuth client secret (or set C66_CLIENT_SECRET; never a flag, so it stays out of ps).',
  },
  {
    key: 'clientAuth',
    flag: '--client-auth',
    env: 'C66_PROXY_CLIENT_AUTH',
    kind: 'enum',
    choices: ['body', 'basic'],
    description: 'How the client authenticates at /oauth/token: credentials in the form body, or HTTP Basic.',
  },
  {
    key: 'scopes',
    flag: '--scopes',
    env: 'C66_PROXY_SCOPES',
    kind: 'string',
    description: 'Space-separated OAuth scopes to request (public redeploy jobs users admin reboot).',
  },
  {
    key: 'publicUrl',
    flag: '--public-url',
    env: 'C66_PROXY_PUBLIC_URL',
    kind: 'url',
    description: 'The base URL users reach the proxy at; the OAuth redirect URI is <public-url>/-/callback. Default: http://<listen>.',
  },
  {
    key: 'dataDir',
    flag: '--data-dir',
    env: 'C66_PROXY_DATA_DIR',
    kind: 'string',
    description: 'Directory of the embedded token store (store.json, secret.key). Default: $XDG_CONFIG_HOME/c66-proxy or ~/.config/c66-proxy.',
  },
  {
    key: 'refreshSkew',
    flag: '--refresh-skew',
    env: 'C66_PROXY_REFRESH_SKEW',
    kind: 'duration',
    description: 'Refresh an expiring OAuth token this long before it expires (never earlier than half its lifetime).',
  },
  {
    key: 'oauthTimeout',
    flag: '--oauth-timeout',
    env: 'C66_PROXY_OAUTH_TIMEOUT',
    kind: 'duration',
    description: 'Timeout of each call to the Cloud 66 OAuth endpoints.',
  },
  {
    key: 'store',
    flag: '--store',
    env: 'C66_PROXY_STORE',
    kind: 'string',
    description: '`file` (the embedded store in --data-dir) or a redis:// / rediss:// URL shared by every gateway replica.',
  },
  {
    key: 'redisOptions',
    flag: '--redis-options',
    env: 'C66_PROXY_REDIS_OPTIONS',
    kind: 'string',
    secret: true,
    description: 'JSON of extra ioredis options for the Redis store, e.g. Sentinel: {"sentinels":[{"host":"s1","port":26379}],"name":"mymaster"}.',
  },
  {
    key: 'storeOutageGrace',
    flag: '--store-outage-grace',
    env: 'C66_PROXY_STORE_OUTAGE_GRACE',
    kind: 'duration',
    description: 'Gateway: while the store is unreachable, members already in memory keep working this long.',
  },
  {
    key: 'tlsCert',
    flag: '--tls-cert',
    env: 'C66_PROXY_TLS_CERT',
    kind: 'string',
    description: 'Gateway: PEM certificate file; with --tls-key the gateway serves HTTPS itself.',
  },
  { key: 'tlsKey', flag: '--tls-key', env: 'C66_PROXY_TLS_KEY', kind: 'string', description: 'Gateway: PEM private key file for --tls-cert.' },
  {
    key: 'trustedProxies',
    flag: '--trusted-proxies',
    env: 'C66_PROXY_TRUSTED_PROXIES',
    kind: 'list',
    description: 'Gateway: CIDRs of the TLS-terminating front / SSO proxy whose X-Forwarded-* (and identity header) are believed.',
  },
  {
    key: 'trustedIdentityHeader',
    flag: '--trusted-identity-header',
    env: 'C66_PROXY_TRUSTED_IDENTITY_HEADER',
    kind: 'string',
    description: 'Gateway: a header set by a single-sign-on proxy (e.g. X-Forwarded-Email) naming the member; believed only from --trusted-proxies.',
  },
  {
    key: 'admins',
    flag: '--admins',
    env: 'C66_PROXY_ADMINS',
    kind: 'list',
    description:
      'Gateway: member identities (cloud66:<id>, or the e-mail address an SSO identity header gives, i.e. sso:<e-mail>) who may manage every member and key.',
  },
  {
    key: 'memberRate',
    flag: '--member-rate',
    env: 'C66_PROXY_MEMBER_RATE',
    kind: 'string',
    description: 'Gateway: API requests allowed per member, COUNT/UNIT with UNIT s, m, h or d (Cloud 66 allows 3,000/h per user).',
  },
  {
    key: 'gatewayDenyPaths',
    flag: '--gateway-deny-paths',
    env: 'C66_PROXY_GATEWAY_DENY_PATHS',
    kind: 'list',
    description: 'Gateway: deny rules for every key, on by default for endpoints that turn an API token into something bigger.',
  },
  {
    key: 'auditLog',
    flag: '--audit-log',
    env: 'C66_PROXY_AUDIT_LOG',
    kind: 'string',
    description: 'Gateway: audit log file (JSON lines, hash-chained), or - for standard output. Default: <data-dir>/audit.log.',
  },
  { key: 'auditAll', flag: '--audit-all', env: 'C66_PROXY_AUDIT_ALL', kind: 'bool', description: 'Gateway: audit every request, not only mutating ones.' },
  {
    key: 'replicaId',
    flag: '--replica-id',
    env: 'C66_PROXY_REPLICA_ID',
    kind: 'string',
    description: "Gateway: this replica's name in audit records and its own hash chain. Default: the host name.",
  },
  {
    key: 'memberConcurrency',
    flag: '--member-concurrency',
    env: 'C66_PROXY_MEMBER_CONCURRENCY',
    kind: 'int',
    description:
      'Gateway: upstream requests one member may have in flight at once (429 too_many_concurrent beyond). Default: a quarter of --upstream-max-sockets.',
  },
  {
    key: 'loginRate',
    flag: '--login-rate',
    env: 'C66_PROXY_LOGIN_RATE',
    kind: 'string',
    description: 'Gateway: logins (/-/login) each client address may start, COUNT/UNIT (429 beyond).',
  },
  {
    key: 'maxClientConnections',
    flag: '--max-client-connections',
    env: 'C66_PROXY_MAX_CLIENT_CONNECTIONS',
    kind: 'int',
    description: 'Gateway: open connections one client address may hold (--trusted-proxies are exempt); more are closed at once.',
  },
  { key: 'sessionTtl', flag: '--session-ttl', env: 'C66_PROXY_SESSION_TTL', kind: 'duration', description: 'Gateway: how long a browser session lasts.' },
  {
    key: 'maxHeaderBytes',
    flag: '--max-header-bytes',
    env: 'C66_PROXY_MAX_HEADER_BYTES',
    kind: 'int',
    description: 'Largest request header block accepted; bigger gets 431.',
  },
  {
    key: 'requestBodyTimeout',
    flag: '--request-body-timeout',
    env: 'C66_PROXY_REQUEST_BODY_TIMEOUT',
    kind: 'duration',
    description: 'A request body must arrive within this long, plus one second for every --min-upload-rate bytes received (408 otherwise).',
  },
  {
    key: 'minUploadRate',
    flag: '--min-upload-rate',
    env: 'C66_PROXY_MIN_UPLOAD_RATE',
    kind: 'int',
    description: 'Bytes per second a request body earns in extra time beyond --request-body-timeout; a body slower than this on average is cut.',
  },
  {
    key: 'replayBodyLimit',
    flag: '--replay-body-limit',
    env: 'C66_PROXY_REPLAY_BODY_LIMIT',
    kind: 'int',
    description: 'Request bodies up to this many bytes are buffered so a request can be replayed once after a 401.',
  },
  {
    key: 'inspectBodyLimit',
    flag: '--inspect-body-limit',
    env: 'C66_PROXY_INSPECT_BODY_LIMIT',
    kind: 'int',
    description:
      'When a ?param rule applies (or a POST is a form), the body is read, up to this many bytes, to check its parameter names; a bigger one gets 413.',
  },
  {
    key: 'upstreamBudget',
    flag: '--upstream-budget',
    env: 'C66_PROXY_UPSTREAM_BUDGET',
    kind: 'string',
    description: "Cloud 66's hourly request budget per user (COUNT/h, or off): past it requests get 429 budget_exhausted until the clock hour ends.",
  },
  {
    key: 'coalesce',
    flag: '--coalesce',
    env: 'C66_PROXY_COALESCE',
    kind: 'enum',
    choices: ['on', 'off'],
    description: 'Identical concurrent GETs of one caller share one request to Cloud 66 (on or off).',
  },
  {
    key: 'cacheTtl',
    flag: '--cache-ttl',
    env: 'C66_PROXY_CACHE_TTL',
    kind: 'string',
    description: 'Keep successful GET answers per caller this long (e.g. 5s), or off. Any other request to a stack drops its entries.',
  },
  {
    key: 'cacheMaxBytes',
    flag: '--cache-max-bytes',
    env: 'C66_PROXY_CACHE_MAX_BYTES',
    kind: 'int',
    description: 'Memory the --cache-ttl cache may use, in bytes.',
  },
  {
    key: 'upstreamMaxSockets',
    flag: '--upstream-max-sockets',
    env: 'C66_PROXY_UPSTREAM_MAX_SOCKETS',
    kind: 'int',
    description: 'Size of the keep-alive connection pool to Cloud 66.',
  },
  {
    key: 'upstreamKeepAliveTimeout',
    flag: '--upstream-keep-alive-timeout',
    env: 'C66_PROXY_UPSTREAM_KEEP_ALIVE_TIMEOUT',
    kind: 'duration',
    description:
      'Close a pooled connection to Cloud 66 once it has been idle this long. Keep it below the idle timeout of everything on the way (load balancer, NAT, egress proxy), so no request goes out on a connection the other end is closing.',
  },
]

/** `--config FILE` / `C66_PROXY_CONFIG`: a JSON file with any of the keys above. */
export const CONFIG_FILE_SETTING = { flag: '--config', env: 'C66_PROXY_CONFIG' } as const

export function settingName(s: Pick<Setting, 'flag' | 'env'>): string {
  return `${s.flag} / ${s.env}`
}
