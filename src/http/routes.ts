import Router from 'koa-router'
import type Koa from 'koa'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import { routerMiddleware } from './router.js'
import type { Metrics } from '../metrics.js'
import type { OAuthClient } from '../oauth/client.js'
import type { TokenStore } from '../store/types.js'
import { logout } from '../tokens/logout.js'
import type { TokenService } from '../tokens/token-service.js'
import { checkCsrf, csrfTokenFor } from './csrf.js'
import { readForm } from './form.js'
import type { BodyPace } from './body.js'
import { PAGE_CSP } from './html.js'
import type { createLoginHandlers } from './login.js'
import type { RequestState } from './observe.js'
import { renderStatusPage } from './status-page.js'

export interface OwnRoutesDeps {
  readonly config: Config
  readonly metrics: Metrics
  readonly tokens: TokenService
  readonly store: TokenStore
  readonly oauth: OAuthClient | undefined
  readonly login: ReturnType<typeof createLoginHandlers>
  readonly caller: () => string
  readonly isShuttingDown: () => boolean
  readonly clock: Clock
  readonly bodyPace: BodyPace
  /** Gateway mode replaces the status page, the log-out and readiness, and adds its own pages. */
  readonly gateway?: {
    readonly home: (ctx: Koa.Context) => Promise<void>
    readonly logout: (ctx: Koa.Context) => Promise<void>
    readonly extra: (router: Router) => void
    /** Problems that make this replica unready (the store unreachable, …). */
    readonly readiness: () => Promise<string[]>
  }
}

const EXPIRING_SOON_MS = 10 * 60_000

/** The proxy's own endpoints under `/-/`. They are never forwarded; an unknown one is a 404. */
export function ownRoutes(deps: OwnRoutesDeps): Koa.Middleware {
  const router = new Router({ prefix: '/-' })
  const secure = deps.config.publicUrl.protocol === 'https:'
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
    const problems: string[] = []
    let tokenSource: string | undefined
    if (deps.gateway) problems.push(...(await deps.gateway.readiness()))
    else {
      const report = await deps.tokens.describe(deps.caller())
      tokenSource = report.active?.source
      if (report.loginRequired) problems.push('Cloud 66 login required')
      else if (!report.active) problems.push('no Cloud 66 token is available')
    }
    if (deps.isShuttingDown()) problems.push('shutting down')
    ctx.status = problems.length === 0 ? 200 : 503
    ctx.body = problems.length === 0 ? { status: 'ready', token_source: tokenSource } : { status: 'not_ready', problems }
  })

  router.get('/metrics', label('/-/metrics'), async (ctx) => {
    await updateExpiringSoon(deps)
    ctx.type = deps.metrics.registry.contentType
    ctx.body = await deps.metrics.registry.metrics()
  })

  router.get('/', label('/-/'), async (ctx) => {
    if (deps.gateway) return deps.gateway.home(ctx)
    ctx.set('Content-Security-Policy', PAGE_CSP)
    ctx.set('X-Frame-Options', 'DENY')
    ctx.set('Referrer-Policy', 'same-origin')
    ctx.type = 'text/html; charset=utf-8'
    ctx.body = renderStatusPage({
      config: deps.config,
      report: await deps.tokens.describe(deps.caller()),
      oauthConfigured: deps.oauth !== undefined,
      storeLocation: deps.store.location,
      csrf: csrfTokenFor(ctx, secure),
      now: deps.clock.now(),
    })
  })

  router.get('/login', label('/-/login'), (ctx) => deps.login.login(ctx))
  router.get('/callback', label('/-/callback'), (ctx) => deps.login.callback(ctx))

  router.post('/logout', label('/-/logout'), async (ctx) => {
    checkCsrf(ctx, (await readForm(ctx.req, deps.bodyPace)).get('csrf'))
    if (deps.gateway) return deps.gateway.logout(ctx)
    const caller = deps.caller()
    await logout(caller, deps.store, deps.oauth)
    deps.tokens.evict(caller)
    ctx.set('Referrer-Policy', 'no-referrer')
    ctx.status = 303
    ctx.set('Location', '/-/')
  })

  deps.gateway?.extra(router)

  const routes = routerMiddleware(router, 'No such endpoint of the proxy')
  return async function own(ctx, next) {
    ;(ctx.state as RequestState).route = '/-/other'
    await routes(ctx, next)
  }
}

/** The gauge is computed when scraped: stored tokens that expire within ten minutes. */
async function updateExpiringSoon(deps: OwnRoutesDeps): Promise<void> {
  const now = deps.clock.now()
  let soon = 0
  try {
    for (const caller of await deps.store.listCallers()) {
      const t = await deps.store.getToken(caller)
      if (t?.expiresAt !== undefined && t.expiresAt - now < EXPIRING_SOON_MS) soon += 1
    }
  } catch {
    return // an unreadable store shows up in /-/readyz; metrics must still be served
  }
  deps.metrics.expiringSoon.set(soon)
}
