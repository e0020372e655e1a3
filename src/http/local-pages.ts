import type { BudgetBook } from '../budget/budget-book.js'
import { budgetJson } from '../budget/budget-view.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import type { OAuthClient } from '../oauth/client.js'
import type { TokenStore } from '../store/types.js'
import { logout } from '../tokens/logout.js'
import { LOCAL_CALLER, type TokenService } from '../tokens/token-service.js'
import { csrfTokenFor } from './csrf.js'
import { PAGE_CSP } from './html.js'
import type { ModePages } from './routes.js'
import { renderStatusPage } from './status-page.js'

export interface LocalPagesDeps {
  readonly config: Config
  readonly tokens: TokenService
  readonly store: TokenStore
  readonly oauth: OAuthClient | undefined
  readonly clock: Clock
  readonly budget: BudgetBook
}

/** Local mode's own pages: the status page of the one user's token, its log-out, its readiness. */
export function localPages(deps: LocalPagesDeps): ModePages {
  const secure = deps.config.publicUrl.protocol === 'https:'
  return {
    async home(ctx) {
      ctx.set('Content-Security-Policy', PAGE_CSP)
      ctx.set('X-Frame-Options', 'DENY')
      ctx.set('Referrer-Policy', 'same-origin')
      ctx.type = 'text/html; charset=utf-8'
      ctx.body = renderStatusPage({
        config: deps.config,
        report: await deps.tokens.describe(LOCAL_CALLER),
        oauthConfigured: deps.oauth !== undefined,
        storeLocation: deps.store.location,
        csrf: csrfTokenFor(ctx, secure),
        now: deps.clock.now(),
        budget: deps.budget.view(LOCAL_CALLER),
      })
    },
    async logout(ctx) {
      await logout(LOCAL_CALLER, deps.store, deps.oauth)
      deps.tokens.evict(LOCAL_CALLER)
      ctx.set('Referrer-Policy', 'no-referrer')
      ctx.status = 303
      ctx.set('Location', '/-/')
    },
    async readiness() {
      const report = await deps.tokens.describe(LOCAL_CALLER)
      const problems = report.loginRequired ? ['Cloud 66 login required'] : report.active ? [] : ['no Cloud 66 token is available']
      return { problems, ...(report.active ? { tokenSource: report.active.source } : {}) }
    },
    extra(router) {
      // `c66-proxy status` reads the running proxy's count from here.
      router.get('/budget', (ctx) => {
        ctx.state.route = '/-/budget'
        ctx.set('Cache-Control', 'no-store')
        ctx.body = budgetJson(deps.budget.view(LOCAL_CALLER))
      })
    },
  }
}
