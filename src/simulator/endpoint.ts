// The Cloud 66 API's per-request steps around a handler, in the order the service appears to run
// them: token (401) → hourly budget (503 throttled) → scope (403) → params → handler → JSON reply.
import type { OutgoingHttpHeaders } from 'node:http'
import type { Scope } from './auth.js'
import { sendForbidden, sendUnauthorized } from './auth.js'
import type { Params } from './params.js'
import { parseParams, queryParams } from './params.js'
import { railsHeaders, sendFailure, sendJson } from './respond.js'
import type { RequestContext, RouteHandler } from './router.js'
import type { SimulatorState } from './state.js'

export interface EndpointOptions {
  /** The scope a token needs; 'any' takes any valid token; 'none' needs no token at all. */
  readonly scope: Scope | 'any' | 'none'
  /**
   * The handler deals with the request body itself (streams it, or awaits ctx.body for its size),
   * so params come from the query only and the handler runs at once, before the body has ended.
   * A handler that streams req must attach its reader before its first await (see recorder.ts).
   */
  readonly ownsBody?: boolean
}

export interface ApiRequest {
  readonly ctx: RequestContext
  readonly sim: SimulatorState
  /** Query and body parameters merged, body winning. */
  readonly input: Params
  readonly scopes: ReadonlySet<string>
  /** Headers every API answer carries (session cookie, rate limit): spread them into any writeHead. */
  readonly headers: OutgoingHttpHeaders
  /** Throws unless the token holds `scope`, for parameters that need more than the endpoint does. */
  requireScope(scope: Scope): void
}

export interface Reply {
  readonly status?: number
  readonly body: unknown
}

/** Returns a Reply to answer with JSON, or nothing when it has answered on ctx.res itself. */
export type ApiHandler = (api: ApiRequest) => Reply | void | Promise<Reply | void>

const THROTTLED = {
  error: 'throttled',
  error_description: 'Rate limit exceeded. Retry in the next hourly interval.',
}
const NO_SCOPES: ReadonlySet<string> = new Set()

/** Thrown by requireScope; answered like Doorkeeper's own missing-scope 403. */
class MissingScope extends Error {}

export function endpoint(options: EndpointOptions, handler: ApiHandler): RouteHandler {
  return (ctx) => {
    const headers = railsHeaders()
    let scopes = NO_SCOPES
    if (options.scope !== 'none') {
      const token = ctx.record.token
      if (token === undefined) return sendUnauthorized(ctx.res, 'invalid')
      const check = ctx.sim.tokens.check(token)
      if (!check.valid) return sendUnauthorized(ctx.res, check.reason)
      const rate = ctx.sim.limiter.take(token)
      headers['x-ratelimit-limit'] = rate.limit
      headers['x-ratelimit-remaining'] = rate.remaining
      if (!rate.allowed) return sendJson(ctx.res, 503, THROTTLED, headers)
      if (options.scope !== 'any' && !check.scopes.has(options.scope)) return sendForbidden(ctx.res)
      scopes = check.scopes
    }
    const api = (input: Params): ApiRequest => ({
      ctx,
      sim: ctx.sim,
      input,
      scopes,
      headers,
      requireScope(scope) {
        if (!scopes.has(scope)) throw new MissingScope(scope)
      },
    })
    if (options.ownsBody === true) return run(handler, api(queryParams(ctx.url.searchParams)))
    return ctx.body.then((body) => {
      if (!body.complete) return undefined // the client is gone: nobody to answer
      let input: Params
      try {
        input = parseParams(ctx.req.method ?? 'GET', ctx.req.headers['content-type'], ctx.url.searchParams, body)
      } catch (err) {
        return sendFailure(ctx.res, err, headers)
      }
      return run(handler, api(input))
    })
  }
}

// An async function runs synchronously up to its first await, which streaming handlers rely on.
async function run(handler: ApiHandler, api: ApiRequest): Promise<void> {
  try {
    const reply = await handler(api)
    if (reply !== undefined) sendJson(api.ctx.res, reply.status ?? 200, reply.body, api.headers)
  } catch (err) {
    if (err instanceof MissingScope && !api.ctx.res.headersSent) sendForbidden(api.ctx.res)
    else sendFailure(api.ctx.res, err, api.headers)
  }
}
