// The consent page's session cookie and Rails' CSRF protection:
// `_session=…; path=/; HttpOnly; SameSite=Lax`, one real token per session, and per-form tokens
// (HMAC of the real token with "<path>#<method>", as Rails' per_form_csrf_tokens), each sent
// masked with a fresh one-time pad. A form's token is good for that form only; the page's
// <meta name="csrf-token"> (the masked real token) is good for any.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { ConsentSession, OAuthStore } from './oauth-store.js'

const COOKIE = '_session'
const TOKEN_LENGTH = 32

export interface SessionLookup {
  readonly id: string
  readonly session: ConsentSession
  /** True when this answer must set the cookie (the request had none we know). */
  readonly isNew: boolean
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=')
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return undefined
}

/** The session the request's cookie names, if the simulator knows it. */
export function existingSession(store: OAuthStore, req: IncomingMessage): SessionLookup | undefined {
  const id = cookieValue(req, COOKIE)
  const session = id === undefined ? undefined : store.sessions.get(id)
  return id === undefined || session === undefined ? undefined : { id, session, isNew: false }
}

/** The request's session, or a new one the answer must set with sessionCookie(). */
export function openSession(store: OAuthStore, req: IncomingMessage): SessionLookup {
  const existing = existingSession(store, req)
  if (existing !== undefined) return existing
  const id = randomBytes(16).toString('hex')
  const session: ConsentSession = { csrfSecret: randomBytes(TOKEN_LENGTH), userId: undefined }
  store.sessions.set(id, session)
  return { id, session, isNew: true }
}

export function sessionCookie(id: string): string {
  return `${COOKIE}=${id}; path=/; HttpOnly; SameSite=Lax`
}

function perFormToken(session: ConsentSession, path: string, method: string): Buffer {
  return createHmac('sha256', session.csrfSecret).update(`${path}#${method.toLowerCase()}`).digest()
}

function mask(raw: Buffer): string {
  const pad = randomBytes(raw.length)
  const masked = Buffer.alloc(raw.length)
  for (let i = 0; i < raw.length; i++) masked[i] = pad[i]! ^ raw[i]!
  return Buffer.concat([pad, masked]).toString('base64')
}

/** The <meta name="csrf-token"> value: accepted by every form of the session. */
export function pageToken(session: ConsentSession): string {
  return mask(session.csrfSecret)
}

/** The hidden authenticity_token of a form that submits `method` to `path`. */
export function formToken(session: ConsentSession, path: string, method: string): string {
  return mask(perFormToken(session, path, method))
}

/**
 * Rails' valid_authenticity_token? for a request to `path` with the (overridden) `method`:
 * a masked real token, a masked per-form token of this path and method, or the bare real token.
 */
export function csrfTokenValid(session: ConsentSession, presented: string | undefined, path: string, method: string): boolean {
  if (presented === undefined) return false
  const decoded = Buffer.from(presented, 'base64')
  if (decoded.length === TOKEN_LENGTH) return timingSafeEqual(decoded, session.csrfSecret)
  if (decoded.length !== TOKEN_LENGTH * 2) return false
  const token = Buffer.alloc(TOKEN_LENGTH)
  for (let i = 0; i < TOKEN_LENGTH; i++) token[i] = decoded[i]! ^ decoded[i + TOKEN_LENGTH]!
  return timingSafeEqual(token, session.csrfSecret) || timingSafeEqual(token, perFormToken(session, path, method))
}
