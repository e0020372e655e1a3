import { readFileSync } from 'node:fs'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config/types.js'
import { edgeMiddleware } from './http/edge.js'
import { errorResponder } from './http/error-response.js'
import { answerFavicon, isFavicon } from './http/favicon.js'
import { createLoginHandlers } from './http/login.js'
import { createObserver, type Observer } from './http/observe.js'
import { ownRoutes } from './http/routes.js'
import { createHttpServer, expectsContinue } from './http/server.js'
import { createLogger, createRequestLog, type Logger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import type { Mode } from './modes/mode.js'
import type { OAuthClient } from './oauth/client.js'
import { oauthClientFor, openStore } from './open.js'
import { prepareSocketPath, restrictSocket } from './net/unix-socket.js'
import { createForwarder, type Forwarder } from './proxy/forward/forward.js'
import { createProxyHandler } from './proxy/handler.js'
import { createPolicy } from './proxy/policy.js'
import type { ProxyContext, RequestState } from './proxy/request-state.js'
import type { TokenStore } from './store/types.js'
import { LocalTokenSources } from './tokens/local-sources.js'
import { Refresher } from './tokens/refresh.js'
import { LOCAL_CALLER, TokenService } from './tokens/token-service.js'
import { BudgetBook } from './budget/budget-book.js'
import { registerBudgetGauges } from './budget/budget-metrics.js'
import { SharedGets } from './proxy/shared-gets.js'

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

/** The parts every request meets, whatever the mode. */
interface Core {
  readonly config: Config
  readonly clock: Clock
  readonly log: Logger
  readonly metrics: Metrics
  readonly store: TokenStore
  readonly oauth: OAuthClient | undefined
  readonly tokens: TokenService
  /** Cloud 66's hourly budget per caller, as this process has spent it. */
  readonly budget: BudgetBook
}

/**
 * The composition root: builds every part of the proxy from the configuration, the mode (local
 * or gateway) chosen once. Opening the store is checked here, so a store that cannot be read or
 * decrypted stops start-up.
 */
export async function createApp(config: Config, io: Partial<AppIO> = {}): Promise<App> {
  const core = await openCore(config, io)
  const { store, tokens, metrics, log } = core
  let boundPort = config.listen.port
  let shuttingDown = false
  const mode = await chooseMode(core, () => boundPort)
  const forwarder = createForwarder(config, metrics, log)
  const observer = createObserver(
    metrics,
    createRequestLog(log),
    () => shuttingDown,
    (ctx, state, status, seconds) => {
      // An upstream answer other than 401 means Cloud 66 accepted the caller's token (the status
      // page stops showing an earlier 401); the proxy's own refusals carry no result.
      if (state.result !== undefined && state.result.status !== 401 && state.caller !== undefined) tokens.accepted(state.caller.id)
      mode.done(ctx, state, status, seconds)
    },
  )
  const koa = new Koa<RequestState>({ proxy: false })
  koa.silent = true
  koa.use(
    edgeMiddleware({
      observer,
      answerError: errorResponder(log, metrics, mode.challenge),
      guard: mode.guard,
      dispatch: dispatcher(core, mode, forwarder, () => shuttingDown),
    }),
  )
  const tls = config.gateway.tls
  const server = createHttpServer(koa.callback(), {
    maxHeaderBytes: config.maxHeaderBytes,
    metrics,
    ...(mode.perClient ? { perClient: mode.perClient } : {}),
    ...(config.mode === 'gateway' && tls ? { tls: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } } : {}),
  })
  return {
    server,
    tokens,
    store,
    oauth: core.oauth,
    metrics,
    log,
    async listen() {
      const address = await listenOn(server, config.listen)
      boundPort = address.port
      return address
    },
    async close() {
      shuttingDown = true
      await drain(server, metrics, config.shutdownGraceMs)
      observer.flush()
      forwarder.close()
      tokens.close()
      await mode.close()
      await store.close()
    },
  }
}

/**
 * Binds the server. A unix socket is prepared first (a 0700 directory, no stale socket) and made
 * 0600 once bound; its address is reported as family 'unix' with the socket path and the port
 * callers name in their Host header.
 */
async function listenOn(server: http.Server, listen: Config['listen']): Promise<AddressInfo> {
  const socket = listen.socket
  if (socket !== undefined) await prepareSocketPath(socket)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    const done = () => {
      server.off('error', reject)
      resolve()
    }
    if (socket !== undefined) server.listen(socket, done)
    else server.listen(listen.port, listen.host, done)
  })
  if (socket === undefined) return server.address() as AddressInfo
  await restrictSocket(socket)
  return { address: socket, family: 'unix', port: listen.port }
}

/** The store, the OAuth client and the token service: what both modes are built on. */
async function openCore(config: Config, io: Partial<AppIO>): Promise<Core> {
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
  // Gateway members only ever use tokens from the store: never the operator's own environment or files.
  const sources = config.mode === 'gateway' ? undefined : new LocalTokenSources(config)
  const tokens = new TokenService({ store, sources, refresher, clock, metrics, refreshSkewMs: config.refreshSkewMs })
  const budget = new BudgetBook(clock, config.upstreamBudget)
  registerBudgetGauges(metrics.registry, budget, config.mode === 'gateway', LOCAL_CALLER)
  return { config, clock, log, metrics, store, oauth, tokens, budget }
}

/** Gateway-only code (and ioredis, zod, the audit log) is loaded only in gateway mode. */
async function chooseMode(core: Core, port: () => number): Promise<Mode> {
  if (core.config.mode === 'gateway') {
    const { gatewayMode } = await import('./modes/gateway.js')
    return gatewayMode(core)
  }
  const { localMode } = await import('./modes/local.js')
  return localMode({ ...core, port })
}

/** Picks a request's handler by path: the gateway's API, the proxy's own pages, the favicon, or Cloud 66. */
function dispatcher(core: Core, mode: Mode, forwarder: Forwarder, isShuttingDown: () => boolean): (ctx: ProxyContext) => Promise<void> | void {
  const { config, metrics, log, store, tokens, clock } = core
  const bodyPace = { timeoutMs: config.requestBodyTimeoutMs, minRate: config.minUploadRate }
  const login = createLoginHandlers({ oauth: core.oauth, store, metrics, log, publicUrl: config.publicUrl, ...mode.login })
  const own = ownRoutes({ metrics, store, login, pages: mode.pages, isShuttingDown, clock, bodyPace })
  const shared = new SharedGets({
    coalesce: config.coalesce,
    cacheTtlMs: config.cacheTtlMs,
    cacheMaxBytes: config.cacheMaxBytes,
    clock,
    saved: (how) => metrics.shared.inc({ how }),
  })
  const proxy = createProxyHandler({
    ...mode.callers,
    tokens,
    forwarder,
    expectsContinue,
    bodyPace,
    budget: core.budget,
    shared,
    policy: createPolicy(config.readOnly, config.denyRules),
    replayBodyLimitBytes: config.replayBodyLimitBytes,
    inspectBodyLimitBytes: config.inspectBodyLimitBytes,
  })
  const api = mode.api
  const noNext = () => Promise.resolve()
  const isOwnPath = (url: string) => url.startsWith('/-/') || url === '/-' || url.startsWith('/-?')
  return (ctx) => {
    const url = ctx.req.url ?? '/'
    if (api && url.startsWith('/-/api/')) return api(ctx, noNext)
    if (isOwnPath(url)) return own(ctx, noNext)
    return isFavicon(url) ? answerFavicon(ctx) : proxy(ctx, noNext)
  }
}

/** Stops accepting, lets in-flight requests finish within `graceMs`, then closes what is left. */
async function drain(server: http.Server, metrics: Metrics, graceMs: number): Promise<void> {
  const inFlight = metrics.inFlightRequests
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  if (inFlight.count > 0) {
    await Promise.race([inFlight.idle(), new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref())])
  }
  server.closeAllConnections()
  await closed
}

export type { Observer }
