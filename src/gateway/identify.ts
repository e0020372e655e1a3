import type { BlockList } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { ProxyError } from '../errors.js'
import { isTrustedAddress } from '../net/client-address.js'
import type { Directory } from './directory.js'
import { presentedCredential } from './key-format.js'
import { ssoMemberId } from './member-id.js'
import type { Caller, Member } from './types.js'

export interface IdentifyDeps {
  readonly directory: Directory
  readonly trustedProxies: BlockList
  /** Lower-case, hyphenated; undefined when no SSO proxy is configured. */
  readonly identityHeader: string | undefined
  readonly loginUrl: string
}

/** True when the peer is one of --trusted-proxies (IPv4-mapped IPv6 addresses included). */
export function fromTrustedProxy(req: IncomingMessage, trusted: BlockList): boolean {
  return isTrustedAddress(req.socket.remoteAddress, trusted)
}

/** What the identity header said: nothing (absent, or not from a trusted proxy), a member, or a value that names nobody. */
export type HeaderIdentity = { readonly memberId: string } | { readonly invalid: true } | undefined

/**
 * Reads and removes the SSO identity header. It is believed only from a trusted proxy and only
 * under its exact hyphenated name; every spelling (any case, `_` for `-`) is stripped from every
 * request, so `X_Forwarded_Email` can never reach a backend that folds underscores (the lesson of
 * oauth2-proxy CVE-2025-64484).
 */
export function takeIdentityHeader(req: IncomingMessage, header: string | undefined, trusted: boolean): HeaderIdentity {
  if (header === undefined) return undefined
  let value: string | undefined
  for (const name of Object.keys(req.headers)) {
    if (name.replace(/_/g, '-') !== header) continue
    const raw = req.headers[name]
    if (trusted && name === header && typeof raw === 'string') value = raw.trim()
    delete req.headers[name]
  }
  if (value === undefined || value === '') return undefined
  const memberId = ssoMemberId(value)
  return memberId === undefined ? { invalid: true } : { memberId }
}

/** The identity header was there, from a trusted proxy, but its value is not an e-mail address. */
export const invalidIdentity = () =>
  new ProxyError('unidentified', 401, 'The single-sign-on identity header does not hold an e-mail address, so it names no member')

const unidentified = () =>
  new ProxyError('unidentified', 401, 'Every request to the gateway must carry a gateway key: Authorization: Bearer c66p_… or HTTP Basic with the key as password (curl -u me:c66p_…). Create one on the gateway\'s /-/ page.')
const invalidKey = () => new ProxyError('invalid_key', 401, 'The gateway key is unknown, expired or revoked')

/**
 * Who is calling the gateway. A gateway key wins; else the SSO identity header from a trusted
 * proxy; else the request is refused. A Cloud 66 token presented directly is not a gateway
 * credential: the gateway holds the members' tokens, callers never do.
 */
export async function identifyGatewayCaller(req: IncomingMessage, deps: IdentifyDeps): Promise<Caller> {
  const trusted = fromTrustedProxy(req, deps.trustedProxies)
  const identity = takeIdentityHeader(req, deps.identityHeader, trusted)
  const presented = presentedCredential(req.headers)
  if (presented.kind === 'key') {
    const found = await deps.directory.callerForKey(presented.key)
    if ('invalid' in found) throw invalidKey()
    return found
  }
  if (presented.kind === 'other') {
    throw new ProxyError('invalid_key', 401, 'This is not a gateway key (gateway keys start with c66p_); a Cloud 66 token is not accepted here')
  }
  if (identity !== undefined) {
    if ('invalid' in identity) throw invalidIdentity()
    const member: Member = (await deps.directory.member(identity.memberId)) ?? { id: identity.memberId, kind: 'person', createdAt: 0, lastLoginAt: undefined }
    return { member, key: undefined }
  }
  throw unidentified()
}

export function loginRequiredFor(loginUrl: string): ProxyError {
  return new ProxyError('login_required', 401, `No Cloud 66 token is linked to this member yet: log in at ${loginUrl}`)
}
