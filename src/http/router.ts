import type Router from 'koa-router'
import type Koa from 'koa'
import { ProxyError } from '../errors.js'

/**
 * A koa-router as one middleware in the error contract: a known path with the wrong method is a
 * JSON 405, an unknown path the JSON 404 `notFound` says.
 */
export function routerMiddleware(router: Router, notFound: string): Koa.Middleware {
  // @types/koa-router types the context more narrowly than Koa's own Middleware; the runtime is the same.
  const routes = router.routes() as unknown as Koa.Middleware
  const allowed = router.allowedMethods({
    throw: true,
    notImplemented: () => new ProxyError('method_not_allowed', 405, 'Method not allowed on this endpoint'),
    methodNotAllowed: () => new ProxyError('method_not_allowed', 405, 'Method not allowed on this endpoint'),
  }) as unknown as Koa.Middleware
  return async (ctx, next) => {
    await routes(ctx, () => allowed(ctx, next))
    if (ctx.status === 404 && ctx.body === undefined) throw new ProxyError('not_found', 404, notFound)
  }
}
