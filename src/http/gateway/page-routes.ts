import type { BudgetView } from '../../budget/budget-book.js'
import type { Member } from '../../gateway/types.js'
import type { ProxyContext } from '../../proxy/request-state.js'
import type { TokenStore } from '../../store/types.js'
import { csrfTokenFor } from '../csrf.js'
import { PAGE_CSP } from '../html.js'
import type { ModePages } from '../routes.js'
import { GATEWAY_JS } from './assets.js'
import { adminPage, gatewayCsp, memberPage, signedOutPage } from './pages.js'
import { endSession, requireAdmin, signedIn, type SessionDeps } from './session.js'

export interface GatewayPagesDeps extends SessionDeps {
  readonly store: TokenStore
  readonly publicOrigin: string
  /** Told when a signed-in member logs out (the audit log). */
  readonly onLogout: (ctx: ProxyContext, member: Member) => void
  /** The member's Cloud 66 budget this hour, across replicas. */
  readonly budgetOf: (memberId: string) => Promise<BudgetView>
}

/** The headers of every gateway page: its own script only, no framing, referrer kept on this origin. */
function pageHeaders(ctx: ProxyContext): void {
  ctx.set('Content-Security-Policy', gatewayCsp(PAGE_CSP))
  ctx.set('X-Frame-Options', 'DENY')
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the page's own forms.
  ctx.set('Referrer-Policy', 'same-origin')
  ctx.type = 'text/html; charset=utf-8'
}

/** The gateway's pages: a member's keys and token on /-/, the admin page, their script, readiness. */
export function gatewayPages(deps: GatewayPagesDeps): ModePages {
  return {
    async home(ctx) {
      pageHeaders(ctx)
      const who = await signedIn(ctx, deps)
      if (!who) {
        ctx.body = signedOutPage(undefined)
        return
      }
      const [token, budget] = await Promise.all([deps.store.getToken(who.member.id), deps.budgetOf(who.member.id)])
      ctx.body = memberPage(who.member, token, budget, who.admin, csrfTokenFor(ctx, true), deps.publicOrigin)
    },
    async logout(ctx) {
      const who = await signedIn(ctx, deps)
      await endSession(ctx, deps)
      if (who) deps.onLogout(ctx, who.member)
      ctx.status = 303
      ctx.set('Location', '/-/')
    },
    async readiness() {
      try {
        await deps.store.check()
        return { problems: [] }
      } catch {
        return { problems: ['the shared store is unreachable'] }
      }
    },
    extra(router) {
      router.get('/assets/gateway.js', (ctx) => {
        ctx.type = 'application/javascript; charset=utf-8'
        ctx.set('Cache-Control', 'no-cache')
        ctx.set('X-Content-Type-Options', 'nosniff')
        ctx.body = GATEWAY_JS
      })
      router.get('/admin', async (ctx) => {
        pageHeaders(ctx)
        ctx.body = adminPage((await requireAdmin(ctx, deps)).member)
      })
    },
  }
}
