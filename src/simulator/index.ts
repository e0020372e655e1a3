// A fake Cloud 66 API v3 and its OAuth 2.0 server (Doorkeeper) on a real node:http server.
// Tests, the demo and the benchmark point the proxy at it as the upstream.
import type { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { Clock } from '../clock.js'
import { registerApiRoutes } from './api-routes.js'
import { registerOAuthRoutes } from './oauth-routes.js'
import type { IssuedTokens, IssueOptions, OAuthCalls } from './oauth-store.js'
import { ExpiryAwareRouter } from './oauth-tokens.js'
import { createSimulatorServer } from './server.js'
import { createState } from './state.js'
import { registerStreamRoutes } from './stream-routes.js'

export interface SimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string
  /** Default 0 (ephemeral). */
  port?: number
  /** token -> scopes. Default: { 'sim-token': ['public','redeploy','jobs','users','admin','reboot'] } */
  tokens?: Record<string, readonly string[]>
  /** Requests allowed per token per window before `503 throttled`. Default 3000. */
  budgetPerToken?: number
  /** Window for the budget in ms. Default 3_600_000. */
  budgetWindowMs?: number
  /** Origin of the off-host (S3-like) redirect and backup public_url. Default 'https://c66-sim-bucket.s3.amazonaws.com' */
  s3Origin?: string
  /**
   * Most records kept in `requests`; the oldest are dropped beyond it so a long benchmark does
   * not grow without bound. `events` still sees every request. Default 50_000; 0 keeps none.
   */
  maxRecords?: number
  /**
   * OAuth applications. Default: one confidential client `sim-client` / `sim-secret` whose empty
   * `redirectUris` accept any loopback http URI (on any port) and 'urn:ietf:wg:oauth:2.0:oob'.
   * Registered URIs match exactly, except that loopback IP literals ignore the port, as in
   * Doorkeeper 5.5. `confidential` defaults to whether a secret is given.
   */
  oauthClients?: Array<{ clientId: string; clientSecret?: string; redirectUris: string[]; confidential?: boolean }>
  /** 'form' answers a successful /oauth/token as `access_token=…&token_type=bearer&…` (Cloud 66's docs). Default 'json'. */
  tokenResponseFormat?: 'json' | 'form'
  /** When set, issued access tokens carry `expires_in` and expire (401 "The access token expired"). */
  accessTokenTtlSeconds?: number
  /** Default false (Cloud 66's usual case); true issues rotating refresh tokens (Doorkeeper's use_refresh_token). */
  issueRefreshTokens?: boolean
  /**
   * When Doorkeeper revokes the pair a refresh was made from. true (default, Doorkeeper's
   * previous_refresh_token column): a refresh leaves the old pair working until the new access
   * token is first used. false: the old pair is revoked at once.
   */
  revokePreviousOnUse?: boolean
  /** Resource owners shown on the consent page. Default ada@example.com (1) and grace@example.com (2). */
  users?: Array<{ id: number; email: string }>
  /** Lifetime of authorization codes. Default 600. */
  codeTtlSeconds?: number
  /** Decides token and code expiry (ms); share a test's fake clock to expire without waiting. Default Date.now. */
  clock?: Clock
  /** PEM certificate and key: serve https instead of http (`url` then starts with https://). */
  tls?: { cert: string | Buffer; key: string | Buffer }
}

export interface SimulatorRequestRecord {
  method: string
  /** req.url exactly as received (raw path + query, no decoding). */
  url: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  /** The first 1 MiB of the request body. */
  body: Buffer
  /** Total body size. */
  bodyBytes: number
  /** The bearer token that was presented (header or access_token/bearer_token param), if any. */
  token: string | undefined
}

export interface Simulator {
  /** Origin only, e.g. http://127.0.0.1:41234 */
  readonly url: URL
  readonly server: Server
  /** Every request in arrival order, pushed when its body has ended or the request was aborted. */
  readonly requests: SimulatorRequestRecord[]
  /** Emits 'request' (record) when a request is recorded. */
  readonly events: EventEmitter
  setToken(token: string, scopes: readonly string[]): void
  /** Revokes a token; for an OAuth-issued one, its refresh token too. */
  revokeToken(token: string): void
  /** How often the OAuth endpoints were called (live counters). */
  readonly oauthCalls: OAuthCalls
  /**
   * Issues a token as if `userId` had logged in, without any call to /oauth/token. Defaults: the
   * first client, `accessTokenTtlSeconds`, a refresh token when `issueRefreshTokens`.
   */
  issueToken(userId: number, scopes: readonly string[], options?: IssueOptions): IssuedTokens
  /** Makes `token` answer 401 "The access token expired" from now on (its refresh token still works). */
  expireToken(token: string): void
  /** The user an access or refresh token belongs to; `tokens`/setToken tokens belong to the first user. */
  userOf(token: string): number | undefined
  /** Lets every `GET /api/3/gate/<name>` request finish, waiting and later ones alike. */
  openGate(name: string): void
  /** How many `/gate/<name>` requests are waiting for their gate now. */
  waitingAtGate(name: string): number
  /** Closes the server and all its connections, hanging ones included. */
  close(): Promise<void>
}

export { ALL_SCOPES } from './auth.js'
export type { IssuedTokens, IssueOptions, OAuthCalls } from './oauth-store.js'
export { DEFAULT_TOKEN } from './state.js'

/** Starts a simulator listening on `host:port`; resolves once it accepts connections. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const state = createState(options)
  // Each route module registers into the one table. The router answers an expired token on any
  // of them with Doorkeeper's "expired" 401 (see oauth-tokens.ts).
  const router = new ExpiryAwareRouter()
  registerApiRoutes(router)
  registerStreamRoutes(router)
  registerOAuthRoutes(router)
  const server = createSimulatorServer(state, router, options.tls)

  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address')
  const url = new URL(`${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`)
  state.origin = url.origin

  let closing: Promise<void> | undefined
  return {
    url,
    server,
    requests: state.records,
    events: state.events,
    setToken: (token, scopes) => state.tokens.set(token, scopes),
    revokeToken: (token) => state.tokens.revoke(token),
    oauthCalls: state.oauth.calls,
    issueToken: (userId, scopes, options) => state.oauth.issueForTest(userId, scopes, options),
    expireToken: (token) => state.oauth.expireToken(token),
    userOf: (token) => state.oauth.userOf(token),
    openGate: (name) => state.gates.open(name),
    waitingAtGate: (name) => state.gates.waiting(name),
    close() {
      closing ??= new Promise<void>((resolve) => {
        // close() waits for open sockets; closeAllConnections ends the hanging and keep-alive ones.
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
