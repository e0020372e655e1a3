import { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'
import type { CallerInfo, ProxyContext, ProxyMiddleware } from './request-state.js'
import type { TokenService } from '../tokens/token-service.js'
import type { Forwarder } from './forward/forward.js'
import type { Policy } from './policy.js'
import type { PolicyInput } from '../rules/path-rules.js'
import type { BodyPace } from './read-body.js'
import { mapTarget } from './target.js'
import { stripRequestHeaders } from './headers.js'
import { overrideHeader, overridesMethod, planBody, queryParamNames } from './request-body.js'
import type { BudgetBook } from '../budget/budget-book.js'
import type { SharedGets, ShareRequest } from './shared-gets.js'
import type { ForwardJob, ResponseTap } from './forward/flight.js'

/**
 * How the mode (local, or the team gateway) treats a caller: who they are, which of their
 * requests may go, what their budget and share of the pool are. Chosen once at start-up.
 */
export interface CallerPolicy {
  /** Identifies the caller, or throws a 401 ProxyError. */
  readonly identify: (ctx: ProxyContext) => Promise<CallerInfo> | CallerInfo
  /**
   * The caller's own rules (gateway: the gateway-wide deny rules and the key's policy). Pure, so
   * a request can be judged again once its body's parameter names are known.
   */
  readonly judge: (caller: CallerInfo, input: PolicyInput) => ProxyError | undefined
  /** True when the caller's own rules hold a `?param` rule, so bodies must be read to judge. */
  readonly judgesParams: (caller: CallerInfo) => boolean
  /** The caller's budget (gateway: the member's rate limit); throws a ProxyError to refuse. */
  readonly admit: (caller: CallerInfo) => Promise<void> | void
  /** A share of the upstream pool for one request: a function that gives it back, or a ProxyError to refuse with. */
  readonly slot: (caller: CallerInfo) => (() => void) | ProxyError
  /** The error for a caller with no token: local `no_token`, gateway `login_required`. */
  readonly noToken: (caller: CallerInfo) => ProxyError
  /** The proxy's origin as callers see it, for Location rewriting. */
  readonly publicOrigin: (ctx: ProxyContext) => string
}

export interface ProxyHandlerDeps extends CallerPolicy {
  readonly tokens: TokenService
  readonly forwarder: Forwarder
  /** Proxy-wide rules (read-only, deny rules), decided before anything else. */
  readonly policy: Policy
  readonly replayBodyLimitBytes: number
  /** Bodies read to check them against `?param` rules may be at most this big. */
  readonly inspectBodyLimitBytes: number
  /** How fast a request body must arrive (408 otherwise). */
  readonly bodyPace: BodyPace
  /** Set on requests that arrived with `Expect: 100-continue`; answered only once the token is known. */
  readonly expectsContinue: (req: ProxyContext['req']) => boolean
  /** Cloud 66's hourly budget per caller: refuses when spent, counts what is sent. */
  readonly budget: BudgetBook
  /** Coalescing of identical GETs and the micro-cache. */
  readonly shared: SharedGets
}

/** Methods that change nothing at Cloud 66: everything else invalidates the caller's shared answers. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

export const NO_TOKEN_MESSAGE =
  'No Cloud 66 token found. Set CLOUD66_ACCESS_TOKEN (a personal access token), CLOUD66_TOKEN (base64 of a cx token file), ' +
  'use --token-file PATH, or log in with the cx toolbelt (~/.cloud66/cx.json). See http://<this proxy>/-/ for details.'

export const noLocalToken = (): ProxyError => refuse.noToken(NO_TOKEN_MESSAGE)

/**
 * The hot path: target → policy → caller → token → body → forward. Requests are judged as
 * Cloud 66 will run them: method overrides are refused, and when a `?param` rule applies the
 * body's parameter names are read and the request judged again. Everything the caller may not
 * send is removed before the request leaves; the response streams back through the forwarder.
 */
export function createProxyHandler(deps: ProxyHandlerDeps): ProxyMiddleware {
  const { tokens, policy, budget, shared } = deps
  const limits = { replayBytes: deps.replayBodyLimitBytes, inspectBytes: deps.inspectBodyLimitBytes, pace: deps.bodyPace }
  return async function proxy(ctx) {
    const req = ctx.req
    const state = ctx.state
    const target = mapTarget(req.url ?? '/')
    state.route = target.route
    const method = req.method ?? 'GET'
    let queryNames: string[] | undefined
    const input: PolicyInput = { method, apiPath: target.apiPath, paramNames: () => (queryNames ??= queryParamNames(target.query)) }
    // A query can only name _method when it holds "method" or a percent-escape.
    if (overrideHeader(req.headers) || (target.query !== undefined && /method|%/.test(target.query) && overridesMethod(input.paramNames()))) {
      throw refuse.methodOverride()
    }
    const refused = policy(input)
    if (refused) throw refused
    // identify/admit are synchronous in local mode: awaiting a plain value would still cost a microtask each.
    const identified = deps.identify(ctx)
    const caller = identified instanceof Promise ? await identified : identified
    state.caller = caller
    const own = deps.judge(caller, input)
    if (own) throw own
    const admitted = deps.admit(caller)
    if (admitted instanceof Promise) await admitted
    const active = tokens.cachedToken(caller.id) ?? (await tokens.tokenFor(caller.id))
    if (!active) throw deps.noToken(caller)
    if (deps.expectsContinue(req)) ctx.res.writeContinue()
    const planned = await planBody(req, method, policy.readsParams || deps.judgesParams(caller), limits)
    if (planned.names !== undefined) {
      const bodyNames = planned.names
      if (overridesMethod(bodyNames)) throw refuse.methodOverride()
      const all: PolicyInput = { ...input, paramNames: () => [...input.paramNames(), ...bodyNames] }
      const again = policy(all) ?? deps.judge(caller, all)
      if (again) throw again
    }
    const publicOrigin = deps.publicOrigin(ctx) // before stripping: it may read the Host header
    stripRequestHeaders(req.headers)
    if (planned.body !== undefined) {
      // A buffered body goes on with its exact bytes, framed by their length (a chunked one read
      // for checking included): a body is never sent without a length or chunking for Cloud 66 to read.
      if (req.headers['transfer-encoding'] !== undefined) delete req.headers['transfer-encoding']
      req.headers['content-length'] = String(planned.body.length)
    }
    const job: ForwardJob = {
      upstreamPath: target.upstreamPath,
      token: active.token,
      body: planned.body,
      replayable: planned.replayable,
      publicOrigin,
      onUnauthorized: (used) => tokens.onUnauthorized(caller.id, used),
      meter: budget.meter(caller.id),
    }
    await (shared.enabled ? sendShared(ctx, deps, caller, method, job) : sendOwn(ctx, deps, caller, job))
  }
}

/**
 * With coalescing or the cache on: a GET may be answered with a copy, or lead the identical
 * ones that come while it is on its way; a write drops the caller's copies that it may change,
 * before it is sent and again once it is answered (answers that began meanwhile may show the
 * state before it).
 */
async function sendShared(ctx: ProxyContext, deps: ProxyHandlerDeps, caller: CallerInfo, method: string, job: ForwardJob): Promise<void> {
  const { shared } = deps
  if (!SAFE.has(method)) {
    shared.invalidate(caller.id, job.upstreamPath)
    try {
      return await sendOwn(ctx, deps, caller, job)
    } finally {
      shared.invalidate(caller.id, job.upstreamPath)
    }
  }
  const request = {
    callerId: caller.id,
    tokenFingerprint: job.token.fingerprint,
    method,
    upstreamPath: job.upstreamPath,
    headers: ctx.req.headers,
    publicOrigin: job.publicOrigin,
  }
  const lead = await shareOrLead(ctx, shared, request)
  if (lead === 'answered') return
  try {
    await sendOwn(ctx, deps, caller, lead === undefined ? job : { ...job, tap: lead.tap })
  } finally {
    lead?.done()
  }
}

/**
 * A copy of another request's answer, or the cache's (no budget, no pool slot): 'answered'.
 * Else this request leads the ones that come while it is on its way (its tap, and done to call
 * once it is over), or, when the answer it waited for could not be copied, goes alone (undefined).
 */
async function shareOrLead(ctx: ProxyContext, shared: SharedGets, r: ShareRequest): Promise<'answered' | { tap: ResponseTap; done: () => void } | undefined> {
  const key = shared.keyOf(r)
  if (key === undefined) return undefined
  const hit = shared.cached(key)
  const waiting = hit === undefined ? shared.join(key) : undefined
  const copy = hit ?? (waiting === undefined ? undefined : await waiting)
  if (copy !== undefined) {
    ctx.respond = false
    ctx.state.result = shared.answer(ctx.res, r.method, copy, hit !== undefined ? 'cache' : 'coalesced')
    return 'answered'
  }
  return waiting === undefined ? shared.lead(key, r.callerId) : undefined
}

/** The request goes to Cloud 66 itself: within the caller's hourly budget and share of the pool. */
async function sendOwn(ctx: ProxyContext, deps: ProxyHandlerDeps, caller: CallerInfo, job: ForwardJob): Promise<void> {
  const spent = deps.budget.check(caller.id)
  if (spent) throw refuse.budgetExhausted(spent.why, spent.retryAfterSeconds, spent.windowEnd)
  const release = deps.slot(caller)
  if (release instanceof ProxyError) throw release
  ctx.respond = false
  try {
    ctx.state.result = await deps.forwarder.forward(ctx.req, ctx.res, job)
  } finally {
    release()
  }
}
