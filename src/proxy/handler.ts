import type Koa from 'koa'
import { ProxyError } from '../errors.js'
import { rejectionError } from '../http/error-response.js'
import { planBody, readBody } from '../http/body.js'
import type { RequestState } from '../http/observe.js'
import type { Metrics } from '../metrics.js'
import type { KeyPolicy } from '../gateway/types.js'
import type { TokenService } from '../tokens/token-service.js'
import type { Forwarder } from './forward.js'
import type { PolicyInput } from './policy.js'
import type { Rejection } from '../http/guards.js'
import { mapTarget, paramName } from './target.js'
import { stripRequestHeaders } from './headers.js'

/** Who is calling: local mode's one user, or a gateway member (with the key they used). */
export interface CallerInfo {
  /** The token store's caller id: `local`, or the member id. */
  readonly id: string
  readonly keyId?: string
  readonly keyLabel?: string
  /** The gateway key's own limits. */
  readonly policy?: KeyPolicy
}

export interface ProxyHandlerDeps {
  readonly tokens: TokenService
  readonly forwarder: Forwarder
  /** Proxy-wide rules (read-only, deny rules), decided before anything else. */
  readonly policy: (input: PolicyInput) => Rejection | undefined
  readonly metrics: Metrics
  readonly replayBodyLimitBytes: number
  /** Set on requests that arrived with `Expect: 100-continue`; answered only once the token is known. */
  readonly expectsContinue: (req: Koa.Context['req']) => boolean
  /** Identifies the caller, or throws a 401 ProxyError. */
  readonly identify: (ctx: Koa.Context) => Promise<CallerInfo> | CallerInfo
  /** The caller's own limits (gateway: key policy, rate limit); throws a ProxyError to refuse. */
  readonly admit: (caller: CallerInfo, input: PolicyInput) => Promise<void> | void
  /** The error for a caller with no token: local `no_token`, gateway `login_required`. */
  readonly noToken: (caller: CallerInfo) => ProxyError
  /** The proxy's origin as callers see it, for Location rewriting. */
  readonly publicOrigin: (ctx: Koa.Context) => string
}

export const NO_TOKEN_MESSAGE =
  'No Cloud 66 token found. Set CLOUD66_ACCESS_TOKEN (a personal access token), CLOUD66_TOKEN (base64 of a cx token file), ' +
  'use --token-file PATH, or log in with the cx toolbelt (~/.cloud66/cx.json). See http://<this proxy>/-/ for details.'

export const noLocalToken = (): ProxyError => new ProxyError('no_token', 401, NO_TOKEN_MESSAGE)

/**
 * The hot path: target → policy → caller → token → forward. Everything the caller may not send
 * is removed before the request leaves; the response streams back through the forwarder.
 */
export function createProxyHandler(deps: ProxyHandlerDeps): Koa.Middleware {
  const { tokens, forwarder, policy, metrics } = deps
  const refuse = (r: Rejection): ProxyError => {
    metrics.rejected.inc({ reason: r.reason })
    return rejectionError(r)
  }
  return async function proxy(ctx) {
    const req = ctx.req
    const state = ctx.state as RequestState
    const target = mapTarget(req.url ?? '/')
    state.route = target.route
    const input: PolicyInput = {
      method: req.method ?? 'GET',
      apiPath: target.apiPath,
      paramNames: () => (target.query ?? '').split(/[&;]/).map(paramName),
    }
    const refused = policy(input)
    if (refused) throw refuse(refused)
    // identify/admit are synchronous in local mode: awaiting a plain value would still cost a microtask each.
    const identified = deps.identify(ctx)
    const caller = identified instanceof Promise ? await identified : identified
    state.caller = caller
    const admitted = deps.admit(caller, input)
    if (admitted instanceof Promise) await admitted
    const active = tokens.cachedToken(caller.id) ?? (await tokens.tokenFor(caller.id))
    if (!active) {
      metrics.rejected.inc({ reason: 'no_token' })
      throw deps.noToken(caller)
    }
    if (deps.expectsContinue(req)) ctx.res.writeContinue()
    const plan = planBody(req, deps.replayBodyLimitBytes)
    const body = plan.kind === 'buffer' ? await readBody(req, plan.length) : undefined
    const publicOrigin = deps.publicOrigin(ctx) // before stripping: it may read the Host header
    stripRequestHeaders(req.headers)
    ctx.respond = false
    state.result = await forwarder.forward(req, ctx.res, {
      upstreamPath: target.upstreamPath,
      token: active.token,
      body,
      replayable: plan.kind !== 'stream',
      publicOrigin,
      onUnauthorized: (used) => tokens.onUnauthorized(caller.id, used),
    })
  }
}
