import type Koa from 'koa'
import { ProxyError } from '../../errors.js'
import type { Directory } from '../../gateway/directory.js'
import type { Member } from '../../gateway/types.js'
import { readCookie, serializeCookie } from '../cookies.js'

export const SESSION_COOKIE = 'c66p_session'

export interface SessionDeps {
  readonly directory: Directory
  readonly admins: ReadonlySet<string>
  readonly sessionTtlMs: number
}

export interface SignedIn {
  readonly member: Member
  readonly admin: boolean
}

/** The member signed in on this browser, or undefined. */
export async function signedIn(ctx: Koa.Context, deps: SessionDeps): Promise<SignedIn | undefined> {
  const session = await deps.directory.session(readCookie(ctx.req.headers, SESSION_COOKIE))
  if (!session) return undefined
  const member = await deps.directory.member(session.memberId)
  return member ? { member, admin: deps.admins.has(member.id) } : undefined
}

export async function requireSession(ctx: Koa.Context, deps: SessionDeps): Promise<SignedIn> {
  const who = await signedIn(ctx, deps)
  if (!who) throw new ProxyError('unidentified', 401, 'Sign in first: open /-/ and log in with Cloud 66')
  return who
}

export async function requireAdmin(ctx: Koa.Context, deps: SessionDeps): Promise<SignedIn> {
  const who = await requireSession(ctx, deps)
  if (!who.admin) throw new ProxyError('denied_by_policy', 403, 'Only gateway admins (--admins) may do this')
  return who
}

/** HttpOnly, Secure, SameSite=Lax, expiring: the gateway is always reached over HTTPS. */
export async function startSession(ctx: Koa.Context, deps: SessionDeps, memberId: string): Promise<void> {
  const value = await deps.directory.createSession(memberId, deps.sessionTtlMs)
  ctx.append('Set-Cookie', serializeCookie(SESSION_COOKIE, value, { path: '/', maxAgeSeconds: Math.floor(deps.sessionTtlMs / 1000), secure: true }))
}

export async function endSession(ctx: Koa.Context, deps: SessionDeps): Promise<void> {
  await deps.directory.endSession(readCookie(ctx.req.headers, SESSION_COOKIE))
  ctx.append('Set-Cookie', serializeCookie(SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0, secure: true }))
}
