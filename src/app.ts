import type { AddressInfo } from 'node:net'
import type http from 'node:http'
import { join } from 'node:path'
import Koa from 'koa'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config/types.js'
import { errorMiddleware } from './http/error-middleware.js'
import { guardMiddleware } from './http/guard-middleware.js'
import { createLoginHandlers } from './http/login.js'
import { observeMiddleware } from './http/observe.js'
import { ownRoutes } from './http/routes.js'
import { createHttpServer, expectsContinue } from './http/server.js'
import { createLogger, type Logger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createOAuthClient, type OAuthClient } from './oauth/client.js'
import { createForwarder } from './proxy/forward.js'
import { createProxyHandler } from './proxy/handler.js'
import { compileRule, createPolicy, type PathRule } from './proxy/policy.js'
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
export function localStore(config: Config, clock: Clock): TokenStore {
  return new LazyFileStore({ path: join(config.dataDir, 'store.json'), env: config.secretEnv(), allowGeneratedKey: true, clock })
}

export function oauthClientFor(config: Config, clock: Clock, fetchImpl?: typeof fetch): OAuthClient | undefined {
  const o = config.oauth
  if (o.clientId === undefined) return undefined
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
  const store = io.store ?? localStore(config, clock)
  await store.check()
  const oauth = oauthClientFor(config, clock, io.fetch)
  const refresher = new Refresher(store, oauth, clock, {
    outcome: (outcome) => metrics.refreshes.inc({ outcome }),
    coalesced: () => metrics.refreshCoalesced.inc(),
  })
  const tokens = new TokenService({ store, sources: new LocalTokenSources(config), refresher, clock, metrics, refreshSkewMs: config.refreshSkewMs })
  const forwarder = createForwarder(config, metrics, log)
  const rules = config.denyPaths.map(compileRule).filter((r): r is PathRule => typeof r !== 'string')
  const policy = createPolicy(config.readOnly, rules)

  let shuttingDown = false
  const isShuttingDown = () => shuttingDown
  let boundPort = config.listen.port
  const caller = () => LOCAL_CALLER

  const login = createLoginHandlers({
    oauth, store, metrics, log, caller,
    publicUrl: config.publicUrl,
    evict: (c) => tokens.evict(c),
  })
  const koa = new Koa({ proxy: false })
  koa.silent = true
  const own = ownRoutes({ config, metrics, tokens, store, oauth, login, caller, isShuttingDown, clock })
  const proxy = createProxyHandler({
    tokens, forwarder, policy, metrics, expectsContinue, caller,
    replayBodyLimitBytes: config.replayBodyLimitBytes,
  })
  koa
    .use(observeMiddleware(metrics, log, isShuttingDown))
    .use(errorMiddleware(log))
    .use(guardMiddleware(config, metrics, () => boundPort))
    .use((ctx, next) => (ctx.path.startsWith('/-/') || ctx.path === '/-' ? own(ctx, next) : proxy(ctx, next)))

  const server = createHttpServer(koa.callback(), { maxHeaderBytes: config.maxHeaderBytes, metrics })
  let inFlight = 0
  let drained: (() => void) | undefined
  server.on('request', (_req, res: http.ServerResponse) => {
    inFlight += 1
    res.once('close', () => {
      inFlight -= 1
      if (inFlight === 0) drained?.()
    })
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
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
        ])
      }
      server.closeAllConnections()
      await closed
      forwarder.close()
      tokens.close()
      await store.close()
    },
  }
}
