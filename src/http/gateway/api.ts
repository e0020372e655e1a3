import Router from 'koa-router'
import type { ProxyContext, ProxyMiddleware } from '../../proxy/request-state.js'
import { budgetJson } from '../../budget/budget-view.js'
import type { BudgetView } from '../../budget/budget-book.js'
import type { Clock } from '../../clock.js'
import { ProxyError } from '../../errors.js'
import { refuse } from '../../refusals.js'
import { routerMiddleware } from '../router.js'
import type { Directory } from '../../gateway/directory.js'
import { readJson } from './json-body.js'
import type { BodyPace } from '../../proxy/read-body.js'
import { keyOptions } from '../../gateway/key-request.js'
import { Secret } from '../../secret.js'
import type { TokenStore } from '../../store/types.js'
import type { TokenService } from '../../tokens/token-service.js'
import { requireAdmin, requireSession, type SessionDeps } from './session.js'
import { keyJson, memberJson } from '../../gateway/json-shapes.js'
import { whenJson } from '../../time-format.js'

export interface GatewayApiDeps extends SessionDeps {
  readonly tokens: TokenService
  readonly store: TokenStore
  readonly clock: Clock
  /** Origin of --public-url: a request whose Origin is present and different is refused. */
  readonly publicOrigin: string
  readonly bodyPace: BodyPace
  /** Told about every change made through the API, once it succeeded (the audit log). */
  readonly onAction: (ctx: ProxyContext, action: ManagementAction) => void
  /** Every member's Cloud 66 budget in the current hour, across replicas. */
  readonly budgets: () => Promise<Map<string, BudgetView>>
  /** The view of a member with nothing sent this hour. */
  readonly emptyBudget: (memberId: string) => BudgetView
}

/** A change to members or keys, for the audit log: who did what to which member or key. */
export interface ManagementAction {
  readonly event: 'key_created' | 'key_revoked' | 'member_added' | 'member_removed' | 'token_attached'
  /** The member who acted. */
  readonly member: string
  /** The member acted on (a key's owner, the member removed or given a token). */
  readonly object: string
  readonly key_id?: string
  readonly key_label?: string
}

/**
 * The gateway's JSON API under /-/api/ (the pages use it; so can scripts with the session cookie).
 * Every request needs the session cookie; state-changing ones need Content-Type: application/json;
 * any request whose Origin is present and not the public origin is refused with 403.
 */
export function gatewayApi(deps: GatewayApiDeps): ProxyMiddleware {
  const router = new Router({ prefix: '/-/api' })
  const d: Directory = deps.directory

  router.use(async (ctx, next) => {
    ctx.state.route = `/-/api${routeName(ctx.path)}`
    ctx.set('Cache-Control', 'no-store')
    const origin = ctx.get('origin')
    if (origin !== '' && origin !== deps.publicOrigin) throw refuse.origin()
    await next()
  })

  router.get('/me', async (ctx) => {
    const who = await requireSession(ctx, deps)
    const budget = (await deps.budgets()).get(who.member.id) ?? deps.emptyBudget(who.member.id)
    ctx.body = { member: memberJson(who.member), admin: who.admin, token: await tokenJson(deps, who.member.id), budget: budgetJson(budget) }
  })

  router.get('/keys', async (ctx) => {
    const who = await requireSession(ctx, deps)
    ctx.body = (await d.listKeys(who.member.id)).map(keyJson)
  })

  // Every handler checks the session (or admin) first and reads a body only then: nobody who is
  // not signed in can make the gateway wait for, or buffer, a body.
  router.post('/keys', async (ctx) => {
    const who = await requireSession(ctx, deps)
    const body = await readJson(ctx, deps.bodyPace)
    const { record, key } = await d.createKey(who.member.id, keyOptions(body, deps.clock))
    deps.onAction(ctx, { event: 'key_created', member: who.member.id, object: who.member.id, key_id: record.id, key_label: record.label })
    ctx.status = 201
    ctx.body = { ...keyJson(record), key } // the only time the key is ever shown
  })

  router.delete('/keys/:id', async (ctx) => {
    const who = await requireSession(ctx, deps)
    await readJson(ctx, deps.bodyPace)
    const key = await d.getKey(ctx.params['id'] ?? '')
    // Someone else's key is "not found" to a non-admin: ids are not a way to probe other members.
    if (!key || (key.memberId !== who.member.id && !who.admin)) throw refuse.notFound('No such key')
    const revoked = await d.revokeKey(key.id)
    if (revoked) deps.onAction(ctx, { event: 'key_revoked', member: who.member.id, object: key.memberId, key_id: key.id, key_label: key.label })
    ctx.body = revoked ? keyJson(revoked) : {}
  })

  router.get('/members', async (ctx) => {
    await requireAdmin(ctx, deps)
    const [members, keys, budgets] = await Promise.all([d.listMembers(), d.listKeys(), deps.budgets()])
    ctx.body = await Promise.all(
      members.map(async (m) => ({
        ...memberJson(m),
        token: await tokenJson(deps, m.id),
        keys: keys.filter((k) => k.memberId === m.id && k.revokedAt === undefined).length,
        budget: budgetJson(budgets.get(m.id) ?? deps.emptyBudget(m.id)),
      })),
    )
  })

  router.get('/members/:id/keys', async (ctx) => {
    await requireAdmin(ctx, deps)
    ctx.body = (await d.listKeys(ctx.params['id'] ?? '')).map(keyJson)
  })

  /**
   * Admins issue keys for bots only. A key acts with its member's own Cloud 66 token, so a key an
   * admin made for a person would let the admin act as that person on Cloud 66: people make their
   * own keys, on /-/.
   */
  router.post('/members/:id/keys', async (ctx) => {
    const who = await requireAdmin(ctx, deps)
    const memberId = ctx.params['id'] ?? ''
    if (!isServiceMember(memberId)) {
      throw refuse.keysForBotsOnly()
    }
    const body = await readJson(ctx, deps.bodyPace)
    if (!(await d.member(memberId))) throw refuse.notFound('No such member')
    const { record, key } = await d.createKey(memberId, keyOptions(body, deps.clock))
    deps.onAction(ctx, { event: 'key_created', member: who.member.id, object: memberId, key_id: record.id, key_label: record.label })
    ctx.status = 201
    ctx.body = { ...keyJson(record), key } // the only time the key is ever shown
  })

  /** Bots: an admin attaches a personal access token to a named service member (`service:<name>`). */
  router.put('/members/:id/token', async (ctx) => {
    const who = await requireAdmin(ctx, deps)
    const memberId = ctx.params['id'] ?? ''
    if (!isServiceMember(memberId)) throw new ProxyError('bad_request', 400, 'Service members are named service:<name> (letters, digits, . _ -)')
    const body = await readJson(ctx, deps.bodyPace)
    const token = typeof body['token'] === 'string' ? body['token'].trim() : ''
    if (token === '' || /\s/.test(token)) throw new ProxyError('bad_request', 400, 'Give the personal access token as {"token": "…"}')
    const { created } = await d.addServiceMember(memberId)
    if (created) deps.onAction(ctx, { event: 'member_added', member: who.member.id, object: memberId })
    await deps.store.putToken(memberId, {
      accessToken: new Secret(token),
      refreshToken: undefined,
      tokenType: 'Bearer',
      scope: undefined,
      expiresAt: undefined,
      obtainedAt: deps.clock.now(),
      origin: 'personal',
    })
    deps.tokens.evict(memberId)
    deps.onAction(ctx, { event: 'token_attached', member: who.member.id, object: memberId })
    ctx.body = { member: memberId, token: await tokenJson(deps, memberId) }
  })

  router.delete('/members/:id', async (ctx) => {
    const who = await requireAdmin(ctx, deps)
    await readJson(ctx, deps.bodyPace)
    const memberId = ctx.params['id'] ?? ''
    const removed = await d.removeMember(memberId)
    if (!removed) throw refuse.notFound('No such member')
    deps.tokens.evict(memberId)
    deps.onAction(ctx, { event: 'member_removed', member: who.member.id, object: memberId })
    ctx.body = { removed: memberId }
  })

  return routerMiddleware(router, 'No such API endpoint')
}

const isServiceMember = (id: string): boolean => /^service:[A-Za-z0-9._-]{1,64}$/.test(id)

function routeName(path: string): string {
  const rest = path.slice('/-/api'.length)
  return rest.replace(/^\/(keys|members)\/[^/]+/, '/$1/:id')
}

async function tokenJson(deps: GatewayApiDeps, memberId: string) {
  const stored = await deps.store.getToken(memberId)
  if (!stored) return { present: false, login_required: false }
  return {
    present: !stored.loginRequired,
    login_required: stored.loginRequired === true,
    origin: stored.origin,
    scope: stored.scope ?? null,
    obtained_at: whenJson(stored.obtainedAt),
    expires_at: whenJson(stored.expiresAt),
    fingerprint: stored.accessToken.fingerprint,
  }
}
