import type { RequestGuard } from '../http/local-guard.js'
import type { LoginDeps } from '../http/login.js'
import type { RequestDone } from '../http/observe.js'
import type { ModePages } from '../http/routes.js'
import type { CallerPolicy } from '../proxy/handler.js'
import type { ProxyMiddleware } from '../proxy/request-state.js'

/**
 * Everything that differs between local mode (one user on one machine) and the team gateway
 * (members with keys, over TLS, audited). createApp picks one at start-up and wires the same
 * edge, proxy and forwarder around it; no other part asks which mode it is in.
 */
export interface Mode {
  /** Every request's checks before it is dispatched, the proxy's own pages included. */
  readonly guard: RequestGuard
  /** Who is calling, and what their requests may do (see CallerPolicy). */
  readonly callers: CallerPolicy
  /** How a browser login ends (the token kept for the local user, or a member's session started). */
  readonly login: Pick<LoginDeps, 'completeLogin' | 'beforeLogin'>
  readonly pages: ModePages
  /** The gateway's JSON API under /-/api/; local mode has none. */
  readonly api: ProxyMiddleware | undefined
  /** Called once each request has ended (the gateway's audit record). */
  readonly done: RequestDone
  /** The WWW-Authenticate challenge of a 401 the proxy answers itself. */
  readonly challenge: string
  /** A cap on the connections one client address may hold, with the peers exempt from it. */
  readonly perClient: { readonly max: number; readonly exempt: (address: string | undefined) => boolean } | undefined
  close(): Promise<void>
}
