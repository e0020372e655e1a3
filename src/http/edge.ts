import type { ProxyContext, ProxyMiddleware } from '../proxy/request-state.js'
import type { ErrorResponder } from './error-response.js'
import type { RequestGuard } from './local-guard.js'
import type { Observer } from './observe.js'
import { refusedRouteLabel } from './route-label.js'

export interface EdgeParts {
  readonly observer: Observer
  readonly answerError: ErrorResponder
  readonly guard: RequestGuard
  /** The proxy's own endpoints and the proxied API, chosen by path. */
  readonly dispatch: (ctx: ProxyContext) => Promise<void> | void
}

/**
 * The one Koa middleware every request passes: observe, guard, dispatch, and turn any error into
 * the JSON error contract. These were four middlewares; each Koa layer costs an async frame and a
 * compose step on every request, which the bench measured, and their order never varies.
 */
export function edgeMiddleware({ observer, answerError, guard, dispatch }: EdgeParts): ProxyMiddleware {
  return async function edge(ctx) {
    const started = observer.begin(ctx)
    try {
      let refused = guard(ctx)
      if (refused instanceof Promise) refused = await refused
      if (refused) {
        ctx.state.route = refusedRouteLabel(ctx.req.method ?? 'GET', ctx.req.url ?? '/')
        throw refused
      }
      const dispatched = dispatch(ctx)
      if (dispatched instanceof Promise) await dispatched
    } catch (err) {
      answerError(ctx, err)
    } finally {
      observer.end(ctx, started)
    }
  }
}
