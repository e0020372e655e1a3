import type { AddressInfo } from 'node:net'
import type http from 'node:http'
import Koa from 'koa'
import type { Config } from './config/types.js'
import { errorMiddleware } from './http/error-middleware.js'
import { guardMiddleware } from './http/guard-middleware.js'
import { observeMiddleware } from './http/observe.js'
import { ownRoutes } from './http/routes.js'
import { createHttpServer, expectsContinue } from './http/server.js'
import { createLogger, type Logger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createForwarder } from './proxy/forward.js'
import { createProxyHandler } from './proxy/handler.js'
import { compileRule, createPolicy, type PathRule } from './proxy/policy.js'
import { LocalTokenSources } from './tokens/local-sources.js'
import { TokenService } from './tokens/token-service.js'

export interface AppIO {
  readonly log: Logger
  readonly metrics: Metrics
}

export interface App {
  readonly server: http.Server
  readonly tokens: TokenService
  readonly metrics: Metrics
  readonly log: Logger
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(): Promise<AddressInfo>
  /** Stops accepting, lets in-flight requests finish within the grace period, then frees everything. */
  close(): Promise<void>
}

/** The composition root: builds every part of the proxy from the configuration. */
export function createApp(config: Config, io: Partial<AppIO> = {}): App {
  const log = io.log ?? createLogger(config.logLevel)
  const metrics = io.metrics ?? createMetrics()
  const tokens = new TokenService(new LocalTokenSources(config), metrics)
  const forwarder = createForwarder(config, metrics, log)
  const rules = config.denyPaths.map(compileRule).filter((r): r is PathRule => typeof r !== 'string')
  const policy = createPolicy(config.readOnly, rules)

  let shuttingDown = false
  const isShuttingDown = () => shuttingDown
  let boundPort = config.listen.port

  const koa = new Koa({ proxy: false })
  koa.silent = true
  const own = ownRoutes({ config, metrics, tokens, isShuttingDown })
  const proxy = createProxyHandler({
    tokens, forwarder, policy, metrics, expectsContinue,
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
    server, tokens, metrics, log,
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
    },
  }
}
