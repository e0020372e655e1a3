import type { BlockList } from 'node:net'
import type Koa from 'koa'
import type Router from 'koa-router'
import { auditKeysFromEnv } from './audit/audit-key.js'
import { AuditLog } from './audit/audit-log.js'
import type { Clock } from './clock.js'
import { trustedProxyList } from './config/gateway.js'
import type { Config } from './config/types.js'
import { ProxyError } from './errors.js'
import { Directory } from './gateway/directory.js'
import { fromTrustedProxy, identifyGatewayCaller, invalidIdentity, loginRequiredFor, takeIdentityHeader } from './gateway/identify.js'
import { checkKeyPolicy, keyJudgesParams, stackIdOf } from './gateway/key-policy.js'
import { MemberSlots } from './gateway/concurrency.js'
import { createLoginRateLimiter, createMemberRateLimiter } from './gateway/rate-limit.js'
import { isTrustedAddress } from './net/client-address.js'
import { memberIdOf } from './gateway/member-id.js'
import { sessionKeyFrom } from './gateway/session-key.js'
import { csrfTokenFor } from './http/csrf.js'
import { gatewayApi, type ManagementAction } from './http/gateway/api.js'
import { GATEWAY_JS } from './http/gateway/assets.js'
import { gatewayGuard } from './http/gateway/guard.js'
import type { RequestGuard } from './http/local-guard.js'
import { adminPage, gatewayCsp, memberPage, signedOutPage } from './http/gateway/pages.js'
import { endSession, requireAdmin, signedIn, startSession, type SessionDeps } from './http/gateway/session.js'
import { PAGE_CSP } from './http/html.js'
import type { RequestDone, RequestState } from './http/observe.js'
import type { Logger } from './log.js'
import type { Metrics } from './metrics.js'
import type { OAuthClient } from './oauth/client.js'
import type { CallerInfo } from './proxy/handler.js'
import { compileRules, firstMatch, hasParamRule, type PolicyInput } from './proxy/policy.js'
import type { Rejection } from './http/guards.js'
import type { StoredToken, TokenStore } from './store/types.js'
import type { TokenService } from './tokens/token-service.js'
import { requestIdOf } from './http/request-id.js'

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export interface GatewayParts {
  readonly directory: Directory
  readonly guard: RequestGuard
  readonly api: Koa.Middleware
  readonly identify: (ctx: Koa.Context) => Promise<CallerInfo>
  readonly judge: (caller: CallerInfo, input: PolicyInput) => Rejection | undefined
  readonly judgesParams: (caller: CallerInfo) => boolean
  readonly admit: (caller: CallerInfo) => Promise<void>
  readonly slot: (caller: CallerInfo) => (() => void) | ProxyError
  readonly noToken: () => ProxyError
  readonly completeLogin: (ctx: Koa.Context, token: StoredToken) => Promise<void>
  /** Refuses a login a client address may not start now (per-address rate limit). */
  readonly beforeLogin: (ctx: Koa.Context) => Promise<void>
  /** Whether a connection's peer is exempt from the per-address connection cap (a trusted front). */
  readonly trustedPeer: (address: string | undefined) => boolean
  readonly routes: {
    home: (ctx: Koa.Context) => Promise<void>
    logout: (ctx: Koa.Context) => Promise<void>
    extra: (router: Router) => void
    readiness: () => Promise<string[]>
  }
  readonly done: RequestDone
  close(): Promise<void>
}

interface GatewayInputs {
  readonly config: Config
  readonly store: TokenStore
  readonly tokens: TokenService
  readonly oauth: OAuthClient | undefined
  readonly clock: Clock
  readonly metrics: Metrics
  readonly log: Logger
  /** The Redis client for the shared rate limiter, when the store is Redis. */
  readonly redis: unknown | undefined
}

/** The team gateway's wiring (issue 4): identification, keys, policy, rate limit, pages, audit. */
export async function gatewayParts(i: GatewayInputs): Promise<GatewayParts> {
  const { config, store, tokens, clock, log, metrics } = i
  const g = config.gateway
  const publicOrigin = config.publicUrl.origin
  const loginUrl = `${publicOrigin}/-/login`
  const trusted = trustedProxyList(g.trustedProxies) as BlockList
  const directory = new Directory(store, clock, g.storeOutageGraceMs, (memberId) => tokens.evict(memberId), sessionKeyFrom(config.secretEnv()))
  // `--admins alice@example.com` names the SSO member sso:alice@example.com.
  const sessions: SessionDeps = { directory, admins: new Set(g.admins.map(memberIdOf)), sessionTtlMs: g.sessionTtlMs }
  const limiter = createMemberRateLimiter(g.memberRate, i.redis)
  const slots = new MemberSlots(g.memberConcurrency)
  const loginLimiter = createLoginRateLimiter(g.loginRate, i.redis)
  // Gateway-wide deny rules (--gateway-deny-paths, on by default for endpoints that turn an API
  // token into something bigger). They were validated with the configuration but never checked,
  // so every key could reach /accounts/otp, /jwt/fetch and the rest; they bind every caller.
  const gatewayDeny = compileRules(g.denyPaths)
  const gatewayReadsParams = hasParamRule(gatewayDeny)
  const audit = await AuditLog.open({
    destination: g.auditLog,
    replica: g.replicaId,
    clock,
    keys: auditKeysFromEnv(config.secretEnv()),
    onError: (err: unknown) => log.error({ err_code: (err as NodeJS.ErrnoException).code }, 'audit log write failed'),
  })

  const unavailable = (err: unknown): never => {
    if ((err as { name?: string }).name === 'StoreError') {
      throw new ProxyError('store_unavailable', 503, "The gateway's store is unreachable; logins and key changes are unavailable until it returns", { cause: err })
    }
    throw err
  }
  const withStore = (mw: Koa.Middleware): Koa.Middleware => async (ctx, next) => {
    try {
      await mw(ctx, next)
    } catch (err) {
      unavailable(err)
    }
  }

  const bodyPace = { timeoutMs: config.requestBodyTimeoutMs, minRate: config.minUploadRate }
  const clientOf = (ctx: Koa.Context): string | undefined => (ctx.state as RequestState).client
  /** Logins, log-outs and every change made through /-/api are audit records, besides the requests. */
  const recordAction = (ctx: Koa.Context, action: ManagementAction | { event: 'login' | 'logout'; member: string }): void => {
    const client = clientOf(ctx)
    audit.write({ ...action, ...(client === undefined ? {} : { client }), method: ctx.method, route: (ctx.state as RequestState).route, request_id: requestIdOf(ctx) })
  }

  const home = async (ctx: Koa.Context) => {
    ctx.set('Content-Security-Policy', gatewayCsp(PAGE_CSP))
    ctx.set('X-Frame-Options', 'DENY')
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the page's own forms.
    ctx.set('Referrer-Policy', 'same-origin')
    ctx.type = 'text/html; charset=utf-8'
    const who = await signedIn(ctx, sessions).catch(unavailable)
    if (!who) {
      ctx.body = signedOutPage(undefined)
      return
    }
    const token = await store.getToken(who.member.id).catch(unavailable)
    ctx.body = memberPage(who.member, token, who.admin, csrfTokenFor(ctx, true), publicOrigin)
  }

  return {
    directory,
    guard: gatewayGuard(config, trusted),
    api: withStore(gatewayApi({ ...sessions, tokens, store, clock, publicOrigin, bodyPace, onAction: (ctx, action) => recordAction(ctx, action) })),
    async identify(ctx) {
      const caller = await identifyGatewayCaller(ctx.req, { directory, trustedProxies: trusted, identityHeader: g.trustedIdentityHeader, loginUrl }).catch((err: unknown) => {
        if (err instanceof ProxyError) {
          metrics.rejected.inc({ reason: err.code })
          throw err
        }
        return unavailable(err)
      })
      return { id: caller.member.id, ...(caller.key ? { keyId: caller.key.id, keyLabel: caller.key.label, policy: caller.key.policy } : {}) }
    },
    judge(caller, input) {
      const denied = firstMatch(gatewayDeny, input)
      if (denied) return { status: 403, code: 'denied_by_policy', reason: 'policy', message: `Refused by the gateway's deny rule "${denied.source}"` }
      return caller.policy ? checkKeyPolicy(caller.policy, input) : undefined
    },
    judgesParams: (caller) => gatewayReadsParams || (caller.policy !== undefined && keyJudgesParams(caller.policy)),
    async admit(caller) {
      try {
        await limiter.consume(caller.id)
      } catch (err) {
        metrics.rejected.inc({ reason: 'rate_limited' })
        throw err
      }
    },
    slot: (caller) =>
      slots.take(caller.id) ??
      new ProxyError('too_many_concurrent', 429, `This member already has ${g.memberConcurrency} requests in flight to Cloud 66 (--member-concurrency); wait for one to finish`, { headers: { 'Retry-After': '1' } }),
    noToken: () => loginRequiredFor(loginUrl),
    async beforeLogin(ctx) {
      try {
        await loginLimiter.consume((ctx.state as RequestState).client ?? ctx.req.socket.remoteAddress ?? '')
      } catch (err) {
        metrics.rejected.inc({ reason: 'login_rate' })
        throw err
      }
    },
    trustedPeer: (address) => isTrustedAddress(address, trusted),
    async completeLogin(ctx, token) {
      // Behind an SSO proxy the member is who the proxy says; otherwise Cloud 66's resource owner.
      const identity = takeIdentityHeader(ctx.req, g.trustedIdentityHeader, fromTrustedProxy(ctx.req, trusted))
      if (identity !== undefined && 'invalid' in identity) throw invalidIdentity()
      let memberId = identity?.memberId
      if (memberId === undefined) {
        if (!i.oauth) throw new ProxyError('internal', 500, 'OAuth is not configured')
        const info = await i.oauth.tokenInfo(token.accessToken)
        if (info.resourceOwnerId === undefined) throw new ProxyError('upstream_unreachable', 502, 'Cloud 66 did not say who logged in')
        memberId = `cloud66:${info.resourceOwnerId}`
      }
      await store.putToken(memberId, token) // logging in again replaces the member's token
      await directory.recordLogin(memberId, 'person')
      tokens.evict(memberId)
      await startSession(ctx, sessions, memberId)
      recordAction(ctx, { event: 'login', member: memberId })
    },
    routes: {
      home,
      async logout(ctx) {
        const who = await signedIn(ctx, sessions).catch(unavailable)
        await endSession(ctx, sessions).catch(unavailable)
        if (who) recordAction(ctx, { event: 'logout', member: who.member.id })
        ctx.status = 303
        ctx.set('Location', '/-/')
      },
      extra(router) {
        router.get('/assets/gateway.js', (ctx) => {
          ctx.type = 'application/javascript; charset=utf-8'
          ctx.set('Cache-Control', 'no-cache')
          ctx.set('X-Content-Type-Options', 'nosniff')
          ctx.body = GATEWAY_JS
        })
        router.get('/admin', async (ctx) => {
          ctx.set('Content-Security-Policy', gatewayCsp(PAGE_CSP))
          ctx.set('X-Frame-Options', 'DENY')
          ctx.type = 'text/html; charset=utf-8'
          const who = await requireAdmin(ctx, sessions).catch((err: unknown) => (err instanceof ProxyError ? Promise.reject(err) : unavailable(err)))
          ctx.body = adminPage(who.member)
        })
      },
      async readiness() {
        try {
          await store.check()
          return []
        } catch {
          return ['the shared store is unreachable']
        }
      },
    },
    done(ctx, state, status, seconds) {
      const caller = state.caller
      if (!caller || !(g.auditAll || MUTATING.has(ctx.method))) return
      const stackId = state.route.startsWith('/stacks/:id') ? stackIdOf(mapApiPath(ctx.path)) : undefined
      audit.write({
        event: 'request',
        member: caller.id,
        ...(state.client !== undefined ? { client: state.client } : {}),
        ...(caller.keyLabel !== undefined ? { key_label: caller.keyLabel } : {}),
        ...(caller.keyId !== undefined ? { key_id: caller.keyId } : {}),
        method: ctx.method,
        route: state.route,
        ...(stackId !== undefined ? { stack_id: stackId } : {}),
        status,
        duration_ms: seconds * 1000,
        request_id: requestIdOf(ctx),
      })
    },
    async close() {
      await directory.close()
      await audit.close()
    },
  }
}

function mapApiPath(path: string): string {
  return path.startsWith('/api/3/') ? path.slice(6) : path
}
