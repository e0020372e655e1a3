import type { ProxyContext } from '../../proxy/request-state.js'
import { refuse } from '../../refusals.js'
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
export async function signedIn(ctx: ProxyContext, deps: SessionDeps): Promise<SignedIn | undefined> {
  const session = await deps.directory.session(readCookie(ctx.req.headers, SESSION_COOKIE))
  if (!session) return undefined
  const member = await deps.directory.member(session.memberId)
  return member ? { member, admin: deps.admins.has(member.id) } : undefined
}

export async function requireSession(ctx: ProxyContext, deps: SessionDeps): Promise<SignedIn> {
  const who = await signedIn(ctx, deps)
  if (!who) throw refuse.notSignedIn()
  return who
}

export async function requireAdmin(ctx: ProxyContext, deps: SessionDeps): Promise<SignedIn> {
  const who = await requireSession(ctx, deps)
  if (!who.admin) throw refuse.adminsOnly()
  return who
}

/** HttpOnly, Secure, SameSite=Lax, expiring: the gateway is always reached over HTTPS. */
export async function startSession(ctx: ProxyContext, deps: SessionDeps, memberId: string): Promise<void> {
  const value = await deps.directory.createSession(memberId, deps.sessionTtlMs)
  ctx.append('Set-Cookie', serializeCookie(SESSION_COOKIE, value, { path: '/', maxAgeSeconds: Math.floor(deps.sessionTtlMs / 1000), secure: true }))
}

export async function endSession(ctx: ProxyContext, deps: SessionDeps): Promise<void> {
  await deps.directory.endSession(readCookie(ctx.req.headers, SESSION_COOKIE))
  ctx.append('Set-Cookie', serializeCookie(SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0, secure: true }))
}
