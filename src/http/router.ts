import type Router from 'koa-router'
import type { ProxyMiddleware } from '../proxy/request-state.js'
import { refuse } from '../refusals.js'

/**
 * A koa-router as one middleware in the error contract: a known path with the wrong method is a
 * JSON 405, an unknown path the JSON 404 `notFound` says.
 */
export function routerMiddleware(router: Router, notFound: string): ProxyMiddleware {
  // @types/koa-router types the context more narrowly than Koa's own Middleware; the runtime is the same.
  const routes = router.routes() as unknown as ProxyMiddleware
  const allowed = router.allowedMethods({
    throw: true,
    notImplemented: refuse.methodNotAllowedHere,
    methodNotAllowed: refuse.methodNotAllowedHere,
  }) as unknown as ProxyMiddleware
  return async (ctx, next) => {
    await routes(ctx, () => allowed(ctx, next))
    if (ctx.status === 404 && ctx.body === undefined) throw refuse.notFound(notFound)
  }
}
