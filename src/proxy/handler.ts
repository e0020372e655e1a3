import type Koa from 'koa'
import { ProxyError } from '../errors.js'
import { rejectionError } from '../http/error-response.js'
import type { RequestState } from '../http/observe.js'
import type { Metrics } from '../metrics.js'
import type { KeyPolicy } from '../gateway/types.js'
import type { TokenService } from '../tokens/token-service.js'
import type { Forwarder } from './forward.js'
import type { Policy, PolicyInput } from './policy.js'
import type { Rejection } from '../http/guards.js'
import type { BodyPace } from '../http/body.js'
import { mapTarget } from './target.js'
import { stripRequestHeaders } from './headers.js'
import { METHOD_OVERRIDE, overrideHeader, overridesMethod, planBody, queryParamNames } from './request-body.js'

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
  readonly policy: Policy
  readonly metrics: Metrics
  readonly replayBodyLimitBytes: number
  /** Bodies read to check them against `?param` rules may be at most this big. */
  readonly inspectBodyLimitBytes: number
  /** How fast a request body must arrive (408 otherwise). */
  readonly bodyPace: BodyPace
  /** Set on requests that arrived with `Expect: 100-continue`; answered only once the token is known. */
  readonly expectsContinue: (req: Koa.Context['req']) => boolean
  /** Identifies the caller, or throws a 401 ProxyError. */
  readonly identify: (ctx: Koa.Context) => Promise<CallerInfo> | CallerInfo
  /**
   * The caller's own rules (gateway: the gateway-wide deny rules and the key's policy). Pure, so
   * a request can be judged again once its body's parameter names are known.
   */
  readonly judge: (caller: CallerInfo, input: PolicyInput) => Rejection | undefined
  /** True when the caller's own rules hold a `?param` rule, so bodies must be read to judge. */
  readonly judgesParams: (caller: CallerInfo) => boolean
  /** The caller's budget (gateway: the member's rate limit); throws a ProxyError to refuse. */
  readonly admit: (caller: CallerInfo) => Promise<void> | void
  /**
   * A share of the upstream pool for one request (gateway: a member's concurrency cap): a
   * function that gives it back, or a ProxyError to refuse with. Undefined: no cap.
   */
  readonly slot?: (caller: CallerInfo) => (() => void) | ProxyError
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
 * The hot path: target → policy → caller → token → body → forward. Requests are judged as
 * Cloud 66 will run them: method overrides are refused, and when a `?param` rule applies the
 * body's parameter names are read and the request judged again. Everything the caller may not
 * send is removed before the request leaves; the response streams back through the forwarder.
 */
export function createProxyHandler(deps: ProxyHandlerDeps): Koa.Middleware {
  const { tokens, forwarder, policy, metrics } = deps
  const limits = { replayBytes: deps.replayBodyLimitBytes, inspectBytes: deps.inspectBodyLimitBytes, pace: deps.bodyPace }
  const refuse = (r: Rejection): ProxyError => {
    metrics.rejected.inc({ reason: r.reason })
    return rejectionError(r)
  }
  return async function proxy(ctx) {
    const req = ctx.req
    const state = ctx.state as RequestState
    const target = mapTarget(req.url ?? '/')
    state.route = target.route
    const method = req.method ?? 'GET'
    let queryNames: string[] | undefined
    const input: PolicyInput = { method, apiPath: target.apiPath, paramNames: () => (queryNames ??= queryParamNames(target.query)) }
    // A query can only name _method when it holds "method" or a percent-escape.
    if (overrideHeader(req.headers) || (target.query !== undefined && /method|%/.test(target.query) && overridesMethod(input.paramNames()))) {
      throw refuse(METHOD_OVERRIDE)
    }
    const refused = policy(input)
    if (refused) throw refuse(refused)
    // identify/admit are synchronous in local mode: awaiting a plain value would still cost a microtask each.
    const identified = deps.identify(ctx)
    const caller = identified instanceof Promise ? await identified : identified
    state.caller = caller
    const own = deps.judge(caller, input)
    if (own) throw refuse(own)
    const admitted = deps.admit(caller)
    if (admitted instanceof Promise) await admitted
    const active = tokens.cachedToken(caller.id) ?? (await tokens.tokenFor(caller.id))
    if (!active) {
      metrics.rejected.inc({ reason: 'no_token' })
      throw deps.noToken(caller)
    }
    if (deps.expectsContinue(req)) ctx.res.writeContinue()
    const planned = await planBody(req, method, policy.readsParams || deps.judgesParams(caller), limits)
    if (planned.names !== undefined) {
      const bodyNames = planned.names
      if (overridesMethod(bodyNames)) throw refuse(METHOD_OVERRIDE)
      const all: PolicyInput = { ...input, paramNames: () => [...input.paramNames(), ...bodyNames] }
      const again = policy(all) ?? deps.judge(caller, all)
      if (again) throw refuse(again)
    }
    const publicOrigin = deps.publicOrigin(ctx) // before stripping: it may read the Host header
    stripRequestHeaders(req.headers)
    if (planned.body !== undefined) {
      // A buffered body goes on with its exact bytes, framed by their length (a chunked one read
      // for checking included): a body is never sent without a length or chunking for Cloud 66 to read.
      if (req.headers['transfer-encoding'] !== undefined) delete req.headers['transfer-encoding']
      req.headers['content-length'] = String(planned.body.length)
    }
    const release = deps.slot?.(caller)
    if (release instanceof ProxyError) {
      metrics.rejected.inc({ reason: release.code })
      throw release
    }
    ctx.respond = false
    try {
      state.result = await forwarder.forward(req, ctx.res, {
        upstreamPath: target.upstreamPath,
        token: active.token,
        body: planned.body,
        replayable: planned.replayable,
        publicOrigin,
        onUnauthorized: (used) => tokens.onUnauthorized(caller.id, used),
      })
    } finally {
      release?.()
    }
  }
}
