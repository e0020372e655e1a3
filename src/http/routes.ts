import Router from 'koa-router'
import type { Clock } from '../clock.js'
import type { Metrics } from '../metrics.js'
import type { BodyPace } from '../proxy/read-body.js'
import type { ProxyContext, ProxyMiddleware, RequestState } from '../proxy/request-state.js'
import type { TokenStore } from '../store/types.js'
import { checkCsrf } from './csrf.js'
import { readForm } from './form.js'
import type { LoginHandlers } from './login.js'
import { routerMiddleware } from './router.js'

/** What the two modes show and do on their own pages (the local status page, or the gateway's). */
export interface ModePages {
  /** `GET /-/` */
  home(ctx: ProxyContext): Promise<void>
  /** `POST /-/logout`, once its CSRF check passed. */
  logout(ctx: ProxyContext): Promise<void>
  /** What keeps this process from being ready (an empty list: ready), and where the token comes from. */
  readiness(): Promise<{ problems: string[]; tokenSource?: string }>
  /** Routes only this mode has (the gateway's admin page and its script). */
  extra(router: Router<RequestState>): void
}

export interface OwnRoutesDeps {
  readonly metrics: Metrics
  readonly store: TokenStore
  readonly login: LoginHandlers
  readonly pages: ModePages
  readonly isShuttingDown: () => boolean
  readonly clock: Clock
  readonly bodyPace: BodyPace
}

const EXPIRING_SOON_MS = 10 * 60_000

/** The proxy's own endpoints under `/-/`. They are never forwarded; an unknown one is a 404. */
export function ownRoutes(deps: OwnRoutesDeps): ProxyMiddleware {
  const router = new Router<RequestState>({ prefix: '/-' })
  const label =
    (name: string): ProxyMiddleware =>
    async (ctx, next) => {
      ctx.state.route = name
      ctx.set('Cache-Control', 'no-store')
      ctx.set('X-Content-Type-Options', 'nosniff')
      await next()
    }

  router.get('/healthz', label('/-/healthz'), (ctx) => {
    ctx.body = { status: 'ok' }
  })

  router.get('/readyz', label('/-/readyz'), async (ctx) => {
    const { problems, tokenSource } = await deps.pages.readiness()
    if (deps.isShuttingDown()) problems.push('shutting down')
    ctx.status = problems.length === 0 ? 200 : 503
    ctx.body = problems.length === 0 ? { status: 'ready', token_source: tokenSource } : { status: 'not_ready', problems }
  })

  router.get('/metrics', label('/-/metrics'), async (ctx) => {
    await updateExpiringSoon(deps)
    ctx.type = deps.metrics.registry.contentType
    ctx.body = await deps.metrics.registry.metrics()
  })

  router.get('/', label('/-/'), (ctx) => deps.pages.home(ctx))
  router.get('/login', label('/-/login'), (ctx) => deps.login.login(ctx))
  router.get('/callback', label('/-/callback'), (ctx) => deps.login.callback(ctx))
  router.post('/logout', label('/-/logout'), async (ctx) => {
    checkCsrf(ctx, (await readForm(ctx.req, deps.bodyPace)).get('csrf'))
    await deps.pages.logout(ctx)
  })

  deps.pages.extra(router)

  const routes = routerMiddleware(router, 'No such endpoint of the proxy')
  return async function own(ctx, next) {
    ctx.state.route = '/-/other'
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
