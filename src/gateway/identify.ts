import type { BlockList } from 'node:net'
import type { IncomingMessage } from 'node:http'
import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'
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
    if ('invalid' in found) throw refuse.invalidKey()
    return found
  }
  if (presented.kind === 'other') {
    throw refuse.notAKey()
  }
  if (identity !== undefined) {
    if ('invalid' in identity) throw refuse.invalidIdentity()
    const member: Member = (await deps.directory.member(identity.memberId)) ?? { id: identity.memberId, kind: 'person', createdAt: 0, lastLoginAt: undefined }
    return { member, key: undefined }
  }
  throw refuse.noKey()
}

export function loginRequiredFor(loginUrl: string): ProxyError {
  return refuse.loginRequired(`No Cloud 66 token is linked to this member yet: log in at ${loginUrl}`)
}
