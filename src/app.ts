import type { AddressInfo } from 'node:net'
import type http from 'node:http'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import Koa from 'koa'
import type { GatewayParts } from './app-gateway.js'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config/types.js'
import { edgeMiddleware } from './http/edge.js'
import { errorResponder } from './http/error-response.js'
import { answerFavicon, isFavicon } from './http/favicon.js'
import { localGuard } from './http/local-guard.js'
import { createLoginHandlers } from './http/login.js'
import { createObserver } from './http/observe.js'
import { ownRoutes } from './http/routes.js'
import { createHttpServer, expectsContinue } from './http/server.js'
import { createLogger, createRequestLog, type Logger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import type { OAuthClient } from './oauth/client.js'
import { createForwarder } from './proxy/forward.js'
import { createProxyHandler, noLocalToken } from './proxy/handler.js'
import { compileRules, createPolicy } from './proxy/policy.js'
import { LazyFileStore } from './store/lazy-file-store.js'
import type { TokenStore } from './store/types.js'
import { LocalTokenSources } from './tokens/local-sources.js'
import { Refresher } from './tokens/refresh.js'
import { LOCAL_CALLER, TokenService } from './tokens/token-service.js'

export interface AppIO {
  readonly log: Logger
  readonly metrics: Metrics
  readonly store: TokenStore
  readonly clock: Clock
  readonly fetch: typeof fetch
}

export interface App {
  readonly server: http.Server
  readonly tokens: TokenService
  readonly store: TokenStore
  readonly oauth: OAuthClient | undefined
  readonly metrics: Metrics
  readonly log: Logger
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(): Promise<AddressInfo>
  /** Stops accepting, lets in-flight requests finish within the grace period, then frees everything. */
  close(): Promise<void>
}

/** The embedded store of local mode: `<dataDir>/store.json`, created on first write. */
/** What opening the store needs: a full Config, or the admin commands' StoreConfig. */
export type StoreSettings = Pick<Config, 'store' | 'dataDir' | 'secretEnv' | 'mode'>

export function localStore(config: StoreSettings, clock: Clock): TokenStore {
  // A generated key file is for one user's machine; a shared gateway must be given its secret.
  return new LazyFileStore({ path: join(config.dataDir, 'store.json'), env: config.secretEnv(), allowGeneratedKey: config.mode === 'local', clock })
}

/** The configured store: the embedded file store, or Redis shared by every gateway replica. */
export async function openStore(config: StoreSettings, clock: Clock): Promise<TokenStore> {
  if (config.store.kind === 'redis') {
    // Loaded only when used: local mode never pays for ioredis (idle memory is a budget, issue #2).
    const { openRedisStore } = await import('./store/redis-store.js')
    // `"cluster": true` (or an object of ioredis ClusterOptions) in --redis-options selects Redis Cluster.
    const { cluster, ...redisOptions } = config.store.options
    return openRedisStore({
      url: config.store.url, env: config.secretEnv(), clock, redisOptions,
      ...(cluster ? { clusterOptions: cluster === true ? {} : (cluster as object) } : {}),
    })
  }
  return localStore(config, clock)
}

export async function oauthClientFor(config: Config, clock: Clock, fetchImpl?: typeof fetch): Promise<OAuthClient | undefined> {
  const o = config.oauth
  if (o.clientId === undefined) return undefined
  // Loaded only when OAuth is configured: a proxy fed by a personal token never loads oauth4webapi.
  const { createOAuthClient } = await import('./oauth/client.js')
  return createOAuthClient(
    { upstream: config.upstream, clientId: o.clientId, clientSecret: o.clientSecret, clientAuth: o.clientAuth, scopes: o.scopes, timeoutMs: o.timeoutMs },
    clock,
    fetchImpl,
  )
}

/**
 * The composition root: builds every part of the proxy from the configuration. Opening the
 * store is checked here, so a store that cannot be read or decrypted stops start-up.
 */
export async function createApp(config: Config, io: Partial<AppIO> = {}): Promise<App> {
  const clock = io.clock ?? systemClock
  const log = io.log ?? createLogger(config.logLevel)
  const metrics = io.metrics ?? createMetrics()
  const store = io.store ?? (await openStore(config, clock))
  await store.check()
  const oauth = await oauthClientFor(config, clock, io.fetch)
  const refresher = new Refresher(store, oauth, clock, {
    outcome: (outcome) => metrics.refreshes.inc({ outcome }),
    coalesced: () => metrics.refreshCoalesced.inc(),
  })
  const gatewayMode = config.mode === 'gateway'
  // Gateway members only ever use tokens from the store: never the operator's own environment or files.
  const tokens = new TokenService({ store, sources: gatewayMode ? undefined : new LocalTokenSources(config), refresher, clock, metrics, refreshSkewMs: config.refreshSkewMs })
  // The shared rate limiter talks to Redis on a connection of its own.
  let gw: GatewayParts | undefined
  let redis: { disconnect(): void } | undefined
  if (gatewayMode) {
    // Gateway-only code and ioredis are loaded only in gateway mode.
    const { gatewayParts } = await import('./app-gateway.js')
    if (config.store.kind === 'redis') {
      const { Redis, Cluster } = await import('ioredis')
      const { cluster, ...options } = config.store.options
      const connection = { ...options, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 }
      const seed = new URL(config.store.url)
      const client = cluster
        ? new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], { enableOfflineQueue: false, redisOptions: connection })
        : new Redis(config.store.url, connection)
      client.on('error', () => undefined) // outages are reported by the store; the limiter falls back to memory
      redis = client
    }
    gw = await gatewayParts({ config, store, tokens, oauth, clock, metrics, log, redis })
  }
  const forwarder = createForwarder(config, metrics, log)
  const bodyPace = { timeoutMs: config.requestBodyTimeoutMs, minRate: config.minUploadRate }
  const policy = createPolicy(config.readOnly, compileRules(config.denyPaths))

  let shuttingDown = false
  const isShuttingDown = () => shuttingDown
  let boundPort = config.listen.port
  const caller = () => LOCAL_CALLER

  const login = createLoginHandlers({
    oauth, store, metrics, log,
    publicUrl: config.publicUrl,
    ...(gw ? { beforeLogin: gw.beforeLogin } : {}),
    completeLogin:
      gw?.completeLogin ??
      (async (_ctx, token) => {
        await store.putToken(LOCAL_CALLER, token)
        tokens.evict(LOCAL_CALLER)
      }),
  })
  const inFlight = metrics.inFlightRequests
  const koa = new Koa({ proxy: false })
  koa.silent = true
  const own = ownRoutes({ config, metrics, tokens, store, oauth, login, caller, isShuttingDown, clock, bodyPace, ...(gw ? { gateway: gw.routes } : {}) })
  const proxy = createProxyHandler({
    tokens, forwarder, policy, metrics, expectsContinue,
    replayBodyLimitBytes: config.replayBodyLimitBytes,
    inspectBodyLimitBytes: config.inspectBodyLimitBytes,
    bodyPace,
    identify: gw?.identify ?? (() => ({ id: LOCAL_CALLER })),
    judge: gw?.judge ?? (() => undefined),
    judgesParams: gw?.judgesParams ?? (() => false),
    admit: gw?.admit ?? (() => undefined),
    ...(gw ? { slot: gw.slot } : {}),
    noToken: gw?.noToken ?? noLocalToken,
    publicOrigin: gw ? () => config.publicUrl.origin : (ctx) => `http://${ctx.req.headers.host ?? ''}`,
  })
  const api = gw?.api
  const isOwnPath = (url: string) => url.startsWith('/-/') || url === '/-' || url.startsWith('/-?')
  const noNext = () => Promise.resolve()
  const gatewayDone = gw?.done
  const observer = createObserver(metrics, createRequestLog(log), isShuttingDown, (ctx, state, status, seconds) => {
    // An upstream answer other than 401 means Cloud 66 accepted the caller's token (the status
    // page stops showing an earlier 401); the proxy's own refusals carry no result.
    const result = state.result
    if (result !== undefined && result.status !== 401 && state.caller !== undefined) tokens.accepted(state.caller.id)
    gatewayDone?.(ctx, state, status, seconds)
  })
  koa.use(
    edgeMiddleware({
      observer,
      answerError: errorResponder(log, gatewayMode ? 'Basic realm="c66-proxy"' : 'Bearer realm="c66-proxy"'),
      guard: gw?.guard ?? localGuard(config, () => boundPort),
      metrics,
      dispatch(ctx) {
        const url = ctx.req.url ?? '/'
        if (api && url.startsWith('/-/api/')) return api(ctx, noNext)
        if (isOwnPath(url)) return own(ctx, noNext)
        return isFavicon(url) ? answerFavicon(ctx) : proxy(ctx, noNext)
      },
    }),
  )

  const tls = config.gateway.tls
  const server = createHttpServer(koa.callback(), {
    maxHeaderBytes: config.maxHeaderBytes,
    metrics,
    ...(gw ? { perClient: { max: config.gateway.maxClientConnections, exempt: gw.trustedPeer } } : {}),
    ...(gatewayMode && tls ? { tls: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } } : {}),
  })

  return {
    server, tokens, store, oauth, metrics, log,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.listen.port, config.listen.host, () => {
          server.off('error', reject)
          const address = server.address() as AddressInfo
          boundPort = address.port
          resolve(address)
        })
      }),
    async close() {
      shuttingDown = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (inFlight.count > 0) {
        await Promise.race([
          inFlight.idle(),
          new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
        ])
      }
      server.closeAllConnections()
      await closed
      observer.flush()
      forwarder.close()
      tokens.close()
      await gw?.close()
      redis?.disconnect()
      await store.close()
    },
  }
}
