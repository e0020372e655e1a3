import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import { localGuard } from '../http/local-guard.js'
import { localPages } from '../http/local-pages.js'
import { canTellPeerUsers } from '../net/peer-uid.js'
import { peerUserGate, type PeerUserGate } from '../net/peer-users.js'
import type { OAuthClient } from '../oauth/client.js'
import { noLocalToken } from '../proxy/handler.js'
import type { CallerInfo } from '../proxy/request-state.js'
import type { TokenStore } from '../store/types.js'
import { LOCAL_CALLER, type TokenService } from '../tokens/token-service.js'
import type { Mode } from './mode.js'
import type { BudgetBook } from '../budget/budget-book.js'

export interface LocalInputs {
  readonly config: Config
  readonly store: TokenStore
  readonly tokens: TokenService
  readonly oauth: OAuthClient | undefined
  readonly clock: Clock
  /** The port actually bound (tests listen on port 0), read per request by the Host check. */
  readonly port: () => number
  readonly budget: BudgetBook
}

/** Local mode has one caller, and it is always the same object: nothing to look up per request. */
const LOCAL: CallerInfo = Object.freeze({ id: LOCAL_CALLER })
const nothing = (): undefined => undefined
const noSlot = (): (() => void) => nothing

/**
 * One user on one machine: callers are whoever can reach the loopback port (the guard keeps out
 * other machines, other sites and rebound names), and they act with that user's token, under the
 * proxy-wide rules only.
 */
export function localMode(i: LocalInputs): Mode {
  return {
    guard: localGuard(i.config, i.port, ownerOnly(i.config)),
    callers: {
      identify: () => LOCAL,
      judge: nothing,
      judgesParams: () => false,
      admit: nothing,
      slot: noSlot,
      noToken: noLocalToken,
      // Location headers go back to the name the caller used for the proxy.
      publicOrigin: (ctx) => `http://${ctx.req.headers.host ?? ''}`,
    },
    login: {
      async completeLogin(_ctx, token) {
        await i.store.putToken(LOCAL_CALLER, token)
        i.tokens.evict(LOCAL_CALLER)
      },
      beforeLogin: nothing,
    },
    pages: localPages(i),
    api: undefined,
    done: nothing,
    challenge: 'Bearer realm="c66-proxy"',
    perClient: undefined,
    close: async () => undefined,
  }
}

/**
 * The gate that keeps other accounts on this machine out, where one is needed and possible: a
 * unix socket is guarded by its permissions, --unsafe-listen-any serves other machines whose users
 * cannot be told, and only Linux lists sockets with their owners (configWarnings names the risk).
 */
export function ownerOnly(config: LocalInputs['config']): PeerUserGate | undefined {
  const own = process.getuid?.()
  if (config.listen.socket !== undefined || config.unsafeListenAny || own === undefined || !canTellPeerUsers()) return undefined
  return peerUserGate(new Set([own, ...config.allowedUids]))
}
