import Router from 'koa-router'
import type Koa from 'koa'
import type { Config } from '../config/types.js'
import { ProxyError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { TokenService } from '../tokens/token-service.js'
import type { RequestState } from './observe.js'
import { STATUS_PAGE_CSP, renderStatusPage } from './status-page.js'

export interface OwnRoutesDeps {
  readonly config: Config
  readonly metrics: Metrics
  readonly tokens: TokenService
  readonly isShuttingDown: () => boolean
}

/** The proxy's own endpoints under `/-/`. They are never forwarded; an unknown one is a 404. */
export function ownRoutes(deps: OwnRoutesDeps): Koa.Middleware {
  const router = new Router({ prefix: '/-' })
  const label = (name: string): Koa.Middleware => async (ctx, next) => {
    ;(ctx.state as RequestState).route = name
    ctx.set('Cache-Control', 'no-store')
    ctx.set('X-Content-Type-Options', 'nosniff')
    await next()
  }

  router.get('/healthz', label('/-/healthz'), (ctx) => {
    ctx.body = { status: 'ok' }
  })

  router.get('/readyz', label('/-/readyz'), async (ctx) => {
    const resolution = await deps.tokens.describe()
    const problems: string[] = []
    if (!resolution.snapshot) problems.push('no Cloud 66 token is available')
    if (deps.isShuttingDown()) problems.push('shutting down')
    ctx.status = problems.length === 0 ? 200 : 503
    ctx.body = problems.length === 0
      ? { status: 'ready', token_source: resolution.snapshot?.source }
      : { status: 'not_ready', problems }
  })

  router.get('/metrics', label('/-/metrics'), async (ctx) => {
    ctx.type = deps.metrics.registry.contentType
    ctx.body = await deps.metrics.registry.metrics()
  })

  router.get('/', label('/-/'), async (ctx) => {
    ctx.set('Content-Security-Policy', STATUS_PAGE_CSP)
    ctx.set('X-Frame-Options', 'DENY')
    ctx.set('Referrer-Policy', 'no-referrer')
    ctx.type = 'text/html; charset=utf-8'
    ctx.body = renderStatusPage(deps.config, await deps.tokens.describe())
  })

  // @types/koa-router types the context more narrowly than Koa's own Middleware; the runtime is the same.
  const routes = router.routes() as unknown as Koa.Middleware
  const allowed = router.allowedMethods({
    throw: true,
    notImplemented: () => new ProxyError('method_not_allowed', 405, 'Method not allowed on this endpoint'),
    methodNotAllowed: () => new ProxyError('method_not_allowed', 405, 'Method not allowed on this endpoint'),
  }) as unknown as Koa.Middleware
  return async function own(ctx, next) {
    ;(ctx.state as RequestState).route = '/-/other'
    await routes(ctx, () => allowed(ctx, next))
    if (ctx.status === 404 && ctx.body === undefined) throw new ProxyError('not_found', 404, 'No such endpoint of the proxy')
  }
}
