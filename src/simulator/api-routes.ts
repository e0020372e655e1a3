// The Cloud 66 API v3 surface: the ping endpoints plus every resource module. Each route also
// answers with a `.json` suffix (the router strips it), as the real Rails app does.
import { registerAccountRoutes } from './account-routes.js'
import { registerBackupRoutes } from './backup-routes.js'
import { registerDeployRoutes } from './deploy-routes.js'
import { endpoint } from './endpoint.js'
import { single } from './envelope.js'
import { registerEnvironmentRoutes } from './environment-routes.js'
import { API } from './lookup.js'
import type { Router } from './router.js'
import { registerStackRoutes } from './stack-routes.js'

export function registerApiRoutes(router: Router): void {
  // cx uses the unauthenticated ping as a health check and /ping/auth as its token check.
  router
    .on(
      'GET',
      `${API}/ping`,
      endpoint({ scope: 'none' }, () => ({ body: single({ ok: true }) })),
    )
    .on(
      'GET',
      `${API}/ping/auth`,
      endpoint({ scope: 'any' }, () => ({ body: single({ ok: true }) })),
    )
  registerStackRoutes(router)
  registerDeployRoutes(router)
  registerEnvironmentRoutes(router)
  registerBackupRoutes(router)
  registerAccountRoutes(router)
}
