import Router from 'koa-router'
import type Koa from 'koa'
import type { Clock } from '../../clock.js'
import { ProxyError } from '../../errors.js'
import { routerMiddleware } from '../router.js'
import type { Directory } from '../../gateway/directory.js'
import { readJson } from './json-body.js'
import { keyOptions } from '../../gateway/key-request.js'
import type { KeyRecord, Member } from '../../gateway/types.js'
import { Secret } from '../../secret.js'
import type { TokenStore } from '../../store/types.js'
import type { TokenService } from '../../tokens/token-service.js'
import type { RequestState } from '../observe.js'
import { requireAdmin, requireSession, type SessionDeps } from './session.js'
import { whenJson } from '../../time-format.js'

export interface GatewayApiDeps extends SessionDeps {
  readonly tokens: TokenService
  readonly store: TokenStore
  readonly clock: Clock
  /** Origin of --public-url: a request whose Origin is present and different is refused. */
  readonly publicOrigin: string
}


/** The JSON shape of a key: everything but its hash. */
export function keyJson(k: KeyRecord) {
  return {
    id: k.id,
    member: k.memberId,
    label: k.label,
    created_at: whenJson(k.createdAt),
    last_used_at: whenJson(k.lastUsedAt),
    expires_at: whenJson(k.expiresAt),
    revoked_at: whenJson(k.revokedAt),
    read_only: k.policy.readOnly,
    methods: k.policy.methods ?? null,
    allow_paths: k.policy.allowPaths ?? null,
    deny_paths: k.policy.denyPaths ?? null,
    stack_ids: k.policy.stackIds ?? null,
  }
}

/**
 * The gateway's JSON API under /-/api/ (the pages use it; so can scripts with the session cookie).
 * Every request needs the session cookie; state-changing ones need Content-Type: application/json;
 * any request whose Origin is present and not the public origin is refused with 403.
 */
export function gatewayApi(deps: GatewayApiDeps): Koa.Middleware {
  const router = new Router({ prefix: '/-/api' })
  const d: Directory = deps.directory

  router.use(async (ctx, next) => {
    ;(ctx.state as RequestState).route = `/-/api${routeName(ctx.path)}`
    ctx.set('Cache-Control', 'no-store')
    const origin = ctx.get('origin')
    if (origin !== '' && origin !== deps.publicOrigin) throw new ProxyError('forbidden_origin', 403, 'Requests from other origins are refused')
    await next()
  })

  router.get('/me', async (ctx) => {
    const who = await requireSession(ctx, deps)
    ctx.body = { member: memberJson(who.member), admin: who.admin, token: await tokenJson(deps, who.member.id) }
  })

  router.get('/keys', async (ctx) => {
    const who = await requireSession(ctx, deps)
    ctx.body = (await d.listKeys(who.member.id)).map(keyJson)
  })

  router.post('/keys', async (ctx) => {
    const body = await readJson(ctx)
    const who = await requireSession(ctx, deps)
    const { record, key } = await d.createKey(who.member.id, keyOptions(body, deps.clock))
    ctx.status = 201
    ctx.body = { ...keyJson(record), key } // the only time the key is ever shown
  })

  router.delete('/keys/:id', async (ctx) => {
    await readJson(ctx)
    const who = await requireSession(ctx, deps)
    const key = await d.getKey(ctx.params['id'] ?? '')
    // Someone else's key is "not found" to a non-admin: ids are not a way to probe other members.
    if (!key || (key.memberId !== who.member.id && !who.admin)) throw new ProxyError('not_found', 404, 'No such key')
    const revoked = await d.revokeKey(key.id)
    ctx.body = revoked ? keyJson(revoked) : {}
  })

  router.get('/members', async (ctx) => {
    await requireAdmin(ctx, deps)
    const members = await d.listMembers()
    const keys = await d.listKeys()
    ctx.body = await Promise.all(
      members.map(async (m) => ({ ...memberJson(m), token: await tokenJson(deps, m.id), keys: keys.filter((k) => k.memberId === m.id && k.revokedAt === undefined).length })),
    )
  })

  router.get('/members/:id/keys', async (ctx) => {
    await requireAdmin(ctx, deps)
    ctx.body = (await d.listKeys(ctx.params['id'] ?? '')).map(keyJson)
  })

  router.post('/members/:id/keys', async (ctx) => {
    const body = await readJson(ctx)
    await requireAdmin(ctx, deps)
    const memberId = ctx.params['id'] ?? ''
    if (!(await d.member(memberId))) throw new ProxyError('not_found', 404, 'No such member')
    const { record, key } = await d.createKey(memberId, keyOptions(body, deps.clock))
    ctx.status = 201
    ctx.body = { ...keyJson(record), key } // the only time the key is ever shown
  })

  /** Bots: an admin attaches a personal access token to a named service member (`service:<name>`). */
  router.put('/members/:id/token', async (ctx) => {
    const body = await readJson(ctx)
    await requireAdmin(ctx, deps)
    const memberId = ctx.params['id'] ?? ''
    if (!/^service:[A-Za-z0-9._-]{1,64}$/.test(memberId)) throw new ProxyError('bad_request', 400, 'Service members are named service:<name> (letters, digits, . _ -)')
    const token = typeof body['token'] === 'string' ? body['token'].trim() : ''
    if (token === '' || /\s/.test(token)) throw new ProxyError('bad_request', 400, 'Give the personal access token as {"token": "…"}')
    await d.addServiceMember(memberId)
    await deps.store.putToken(memberId, { accessToken: new Secret(token), refreshToken: undefined, tokenType: 'Bearer', scope: undefined, expiresAt: undefined, obtainedAt: deps.clock.now(), origin: 'personal' })
    deps.tokens.evict(memberId)
    ctx.body = { member: memberId, token: await tokenJson(deps, memberId) }
  })

  router.delete('/members/:id', async (ctx) => {
    await readJson(ctx)
    await requireAdmin(ctx, deps)
    const removed = await d.removeMember(ctx.params['id'] ?? '')
    if (!removed) throw new ProxyError('not_found', 404, 'No such member')
    deps.tokens.evict(ctx.params['id'] ?? '')
    ctx.body = { removed: ctx.params['id'] }
  })

  return routerMiddleware(router, 'No such API endpoint')
}

function routeName(path: string): string {
  const rest = path.slice('/-/api'.length)
  return rest.replace(/^\/(keys|members)\/[^/]+/, '/$1/:id')
}

function memberJson(m: Member) {
  return { id: m.id, kind: m.kind, created_at: whenJson(m.createdAt), last_login_at: whenJson(m.lastLoginAt) }
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
