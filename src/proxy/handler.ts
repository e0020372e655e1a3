import type Koa from 'koa'
import { ProxyError } from '../errors.js'
import { rejectionError } from '../http/error-middleware.js'
import { planBody, readBody } from '../http/body.js'
import type { RequestState } from '../http/observe.js'
import type { Metrics } from '../metrics.js'
import type { TokenService } from '../tokens/token-service.js'
import type { Forwarder } from './forward.js'
import type { PolicyInput } from './policy.js'
import type { Rejection } from '../http/guards.js'
import { mapTarget, paramName } from './target.js'
import { stripRequestHeaders } from './headers.js'

export interface ProxyHandlerDeps {
  readonly tokens: TokenService
  readonly forwarder: Forwarder
  readonly policy: (input: PolicyInput) => Rejection | undefined
  readonly metrics: Metrics
  readonly replayBodyLimitBytes: number
  /** Set on requests that arrived with `Expect: 100-continue`; answered only once the token is known. */
  readonly expectsContinue: (req: Koa.Context['req']) => boolean
  /** Who is calling (local mode: the one local user). */
  readonly caller: (ctx: Koa.Context) => string
}

export const NO_TOKEN_MESSAGE =
  'No Cloud 66 token found. Set CLOUD66_ACCESS_TOKEN (a personal access token), CLOUD66_TOKEN (base64 of a cx token file), ' +
  'use --token-file PATH, or log in with the cx toolbelt (~/.cloud66/cx.json). See http://<this proxy>/-/ for details.'

/**
 * The hot path: target → policy → token → forward. Everything the caller may not send is
 * removed before the request leaves; the response streams back through the forwarder.
 */
export function createProxyHandler(deps: ProxyHandlerDeps): Koa.Middleware {
  const { tokens, forwarder, policy, metrics } = deps
  return async function proxy(ctx) {
    const req = ctx.req
    const state = ctx.state as RequestState
    const target = mapTarget(req.url ?? '/')
    state.route = target.route
    const method = req.method ?? 'GET'
    const refused = policy({ method, apiPath: target.apiPath, paramNames: () => (target.query ?? '').split(/[&;]/).map(paramName) })
    if (refused) {
      metrics.rejected.inc({ reason: refused.reason })
      throw rejectionError(refused)
    }
    const caller = deps.caller(ctx)
    const snapshot = await tokens.tokenFor(caller)
    if (!snapshot) {
      metrics.rejected.inc({ reason: 'no_token' })
      throw new ProxyError('no_token', 401, NO_TOKEN_MESSAGE)
    }
    if (deps.expectsContinue(req)) ctx.res.writeContinue()
    const plan = planBody(req, deps.replayBodyLimitBytes)
    const body = plan.kind === 'buffer' ? await readBody(req, plan.length) : undefined
    const publicOrigin = `http://${req.headers.host ?? ''}` // validated by the Host guard
    stripRequestHeaders(req.headers)
    ctx.respond = false
    state.result = await forwarder.forward(req, ctx.res, {
      upstreamPath: target.upstreamPath,
      token: snapshot.token,
      body,
      replayable: plan.kind !== 'stream',
      publicOrigin,
      onUnauthorized: (used) => tokens.onUnauthorized(caller, used),
    })
  }
}
