// Cloud 66's OAuth endpoints (Doorkeeper's default routes), on the simulator's origin beside /api/3:
// the consent flow under /oauth/authorize (oauth-authorize.ts) and the Metal endpoints
// /oauth/token, /oauth/revoke and /oauth/token/info (oauth-token.ts).
import { authorizeDecision, authorizeRequest, nativeCode } from './oauth-authorize.js'
import { sendEmpty } from './oauth-respond.js'
import { revokeToken, tokenEndpoint, tokenInfo } from './oauth-token.js'
import type { Router } from './router.js'

export function registerOAuthRoutes(router: Router): void {
  router
    .on('GET', '/oauth/authorize', authorizeRequest)
    // The Deny form POSTs `_method=delete` (Rack::MethodOverride); a real DELETE works the same.
    .on(['POST', 'DELETE'], '/oauth/authorize', authorizeDecision)
    .on('GET', '/oauth/authorize/native', nativeCode)
    .on('POST', '/oauth/token', tokenEndpoint)
    // Doorkeeper has no GET route, and Rails' production 404 here is empty.
    .on('GET', '/oauth/token', (ctx) => sendEmpty(ctx.res, 404))
    .on('POST', '/oauth/revoke', revokeToken)
    .on('GET', '/oauth/token/info', tokenInfo)
}
