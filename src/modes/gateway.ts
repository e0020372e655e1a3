import { auditKeysFromEnv } from '../audit/audit-key.js'
import { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import { ProxyError } from '../errors.js'
import { createAdmission } from '../gateway/admission.js'
import { auditTrail } from '../gateway/audit-trail.js'
import { Directory } from '../gateway/directory.js'
import { fromTrustedProxy, identifyGatewayCaller, loginRequiredFor, takeIdentityHeader } from '../gateway/identify.js'
import { memberIdOf } from '../gateway/member-id.js'
import { createLoginRateLimiter, createMemberRateLimiter } from '../gateway/rate-limit.js'
import { sessionKeyFrom } from '../gateway/session-key.js'
import { gatewayApi } from '../http/gateway/api.js'
import { gatewayGuard } from '../http/gateway/guard.js'
import { gatewayPages } from '../http/gateway/page-routes.js'
import { startSession, type SessionDeps } from '../http/gateway/session.js'
import { requestIdOf } from '../http/request-id.js'
import type { Logger } from '../log.js'
import { isTrustedAddress } from '../net/client-address.js'
import type { OAuthClient } from '../oauth/client.js'
import type { CallerInfo, ProxyContext } from '../proxy/request-state.js'
import { refuse } from '../refusals.js'
import type { StoredToken, TokenStore } from '../store/types.js'
import type { TokenService } from '../tokens/token-service.js'
import type { Mode } from './mode.js'
import type { BudgetBook } from '../budget/budget-book.js'
import { BudgetLedger } from '../budget/budget-ledger.js'

export interface GatewayInputs {
  readonly config: Config
  readonly store: TokenStore
  readonly tokens: TokenService
  readonly oauth: OAuthClient | undefined
  readonly clock: Clock
  readonly log: Logger
  readonly budget: BudgetBook
}

/**
 * The team gateway: members identified by gateway keys (or a trusted SSO header), each acting
 * with their own Cloud 66 token under the gateway-wide rules, their key's policy, their budget
 * and their share of the pool; their pages and JSON API; an audit record of what they change.
 */
export async function gatewayMode(i: GatewayInputs): Promise<Mode> {
  const { config, store, tokens, clock, log } = i
  const g = config.gateway
  const publicOrigin = config.publicUrl.origin
  const loginUrl = `${publicOrigin}/-/login`
  const trusted = g.trustedProxies
  const directory = new Directory(store, clock, g.storeOutageGraceMs, (memberId) => tokens.evict(memberId), sessionKeyFrom(config.secretEnv()))
  // `--admins alice@example.com` names the SSO member sso:alice@example.com.
  const sessions: SessionDeps = { directory, admins: new Set(g.admins.map(memberIdOf)), sessionTtlMs: g.sessionTtlMs }
  const redis = await limiterConnection(config)
  const admission = createAdmission({ denyRules: g.denyRules, limiter: createMemberRateLimiter(g.memberRate, redis), memberConcurrency: g.memberConcurrency })
  const loginLimiter = createLoginRateLimiter(g.loginRate, redis)
  const audit = await AuditLog.open({
    destination: g.auditLog,
    replica: g.replicaId,
    clock,
    keys: auditKeysFromEnv(config.secretEnv()),
    onError: (err: unknown) => log.error({ err_code: (err as NodeJS.ErrnoException).code }, 'audit log write failed'),
  })
  const trail = auditTrail(audit, g.auditAll)
  const ledger = new BudgetLedger(store, i.budget, clock, g.replicaId)
  const budgets = () => ledger.views()
  const emptyBudget = (id: string) => i.budget.view(id)
  const budgetOf = async (id: string) => (await budgets()).get(id) ?? emptyBudget(id)
  const on = (ctx: ProxyContext) => ({ client: ctx.state.client, method: ctx.method, route: ctx.state.route, requestId: requestIdOf(ctx) })

  async function completeLogin(ctx: ProxyContext, token: StoredToken): Promise<void> {
    // Behind an SSO proxy the member is who the proxy says; otherwise Cloud 66's resource owner.
    const identity = takeIdentityHeader(ctx.req, g.trustedIdentityHeader, fromTrustedProxy(ctx.req, trusted))
    if (identity !== undefined && 'invalid' in identity) throw refuse.invalidIdentity()
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
    trail.action({ event: 'login', member: memberId }, on(ctx))
  }

  return {
    guard: gatewayGuard(config, trusted),
    callers: {
      async identify(ctx): Promise<CallerInfo> {
        const caller = await identifyGatewayCaller(ctx.req, { directory, trustedProxies: trusted, identityHeader: g.trustedIdentityHeader, loginUrl })
        return { id: caller.member.id, ...(caller.key ? { keyId: caller.key.id, keyLabel: caller.key.label, policy: caller.key.policy } : {}) }
      },
      judge: admission.judge,
      judgesParams: admission.judgesParams,
      admit: admission.admit,
      slot: admission.slot,
      noToken: () => loginRequiredFor(loginUrl),
      publicOrigin: () => publicOrigin,
    },
    login: {
      completeLogin,
      beforeLogin: (ctx) => loginLimiter.consume(ctx.state.client ?? ctx.req.socket.remoteAddress ?? ''),
    },
    pages: gatewayPages({
      ...sessions,
      store,
      publicOrigin,
      budgetOf,
      onLogout: (ctx, member) => trail.action({ event: 'logout', member: member.id }, on(ctx)),
    }),
    api: gatewayApi({
      ...sessions,
      tokens,
      store,
      clock,
      publicOrigin,
      bodyPace: { timeoutMs: config.requestBodyTimeoutMs, minRate: config.minUploadRate },
      onAction: (ctx, action) => trail.action(action, on(ctx)),
      budgets,
      emptyBudget,
    }),
    done(ctx, state, status, seconds) {
      trail.request({
        caller: state.caller,
        client: state.client,
        method: ctx.method,
        path: ctx.path,
        route: state.route,
        status,
        durationMs: seconds * 1000,
        requestId: requestIdOf(ctx),
      })
    },
    challenge: 'Basic realm="c66-proxy"',
    perClient: { max: g.maxClientConnections, exempt: (address) => isTrustedAddress(address, trusted) },
    async close() {
      ledger.close()
      await ledger.flush().catch(() => undefined)
      await directory.close()
      await audit.close()
      redis?.disconnect()
    },
  }
}

/**
 * The rate limiters' own Redis connection (when the store is Redis): it fails fast instead of
 * queueing, so that during an outage the limiters fall back to memory at once. Outages are
 * reported by the store; ioredis and its Cluster client are loaded only here.
 */
async function limiterConnection(config: Config): Promise<{ disconnect(): void } | undefined> {
  if (config.store.kind !== 'redis') return undefined
  const { Redis, Cluster } = await import('ioredis')
  const { cluster, ...options } = config.store.options
  const connection = { ...options, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 }
  const seed = new URL(config.store.url)
  const client = cluster
    ? new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], { enableOfflineQueue: false, redisOptions: connection })
    : new Redis(config.store.url, connection)
  client.on('error', () => undefined)
  return client
}
