/**
 * Bounded route labels for metrics and logs, built once from the Cloud 66 API v3 endpoint list
 * (stacks, deployments, servers, …). A path that matches no template is `other`: the label set can never grow
 * with what callers send, and ids, names and tokens never become labels.
 */
const TEMPLATES = [
  '/ping',
  '/ping/auth',
  '/accounts',
  '/accounts/otp',
  '/accounts/:id',
  '/accounts/:id/gateways',
  '/accounts/:id/gateways/:id',
  '/jwt/fetch',
  '/users',
  '/users/registry-credentials',
  '/users/:id',
  '/users/:id/devices',
  '/users/:id/devices/:id',
  '/stacks',
  '/stacks/:id',
  '/stacks/:id/actions',
  '/stacks/:id/actions/:id',
  '/stacks/:id/reboot_servers',
  '/stacks/:id/ssl_certificates',
  '/stacks/:id/ssl_certificates/:id',
  '/dns_providers',
  '/stacks/:id/configuration',
  '/stacks/:id/configuration/:id/show',
  '/stacks/:id/configuration/:id/update',
  '/stacks/:id/configuration/:id/apply',
  '/stacks/:id/manifest_yaml',
  '/stacks/:id/manifest_yaml/:id',
  '/stacks/:id/service_yaml',
  '/stacks/:id/service_yaml/:id',
  '/stacks/:id/sessions',
  '/stacks/:id/sessions/fetch',
  '/stacks/:id/application_variants',
  '/stacks/:id/application_variants/:id',
  '/clusters',
  '/clusters/:id',
  '/stacks/:id/deployments',
  '/stacks/:id/deployments/:id',
  '/stacks/:id/environments',
  '/stacks/:id/environments/bulk',
  '/stacks/:id/environments/:id',
  '/stacks/:id/settings',
  '/stacks/:id/settings/:id',
  '/stacks/:id/servers',
  '/stacks/:id/servers/:id',
  '/stacks/:id/servers/:id/reboot_server',
  '/stacks/:id/servers/:id/settings',
  '/stacks/:id/servers/:id/settings/:id',
  '/stacks/:id/server_groups',
  '/stacks/:id/server_groups/:id',
  '/stacks/:id/server_groups/:id/database_users',
  '/stacks/:id/server_groups/:id/database_users/:id',
  '/stacks/:id/services',
  '/stacks/:id/services/:id',
  '/stacks/:id/containers',
  '/stacks/:id/containers/:id',
  '/stacks/:id/processes',
  '/stacks/:id/processes/:id',
  '/stacks/:id/backups',
  '/stacks/:id/backups/:id',
  '/stacks/:id/backups/:id/files',
  '/stacks/:id/backups/:id/files/:id',
  '/stacks/:id/firewalls',
  '/stacks/:id/firewalls/:id',
  '/failover_groups',
  '/failover_groups/:id',
  '/stacks/:id/jobs',
  '/stacks/:id/jobs/pause_all',
  '/stacks/:id/jobs/unpause_all',
  '/stacks/:id/jobs/:id',
  '/stacks/:id/jobs/:id/run_now',
  '/stacks/:id/jobs/:id/pause',
  '/stacks/:id/jobs/:id/unpause',
  '/stacks/:id/notifications',
  '/stacks/:id/notifications/:id',
  '/application_groups/notifications',
  '/clouds',
  '/clouds/:id',
  '/image_repositories',
  '/image_repositories/:id',
  '/tags/:id/:id',
  '/base_templates',
  '/base_templates/:id',
  '/base_templates/:id/sync',
  '/configstore/namespaces/:id/records',
  '/configstore/namespaces/:id/records/:id',
  '/stacks/:id/formations',
  '/stacks/:id/formations/:id',
  '/stacks/:id/snapshots',
  '/onprems',
  '/onprems/:id',
  '/queues',
  '/queues/register',
  '/queues/:id',
  '/ssh_keys/access',
  '/operations/:id/logs',
] as const

interface Node {
  literal: Map<string, Node>
  param: Node | undefined
  template: string | undefined
}

const newNode = (): Node => ({ literal: new Map(), param: undefined, template: undefined })

function buildTrie(templates: readonly string[]): Node {
  const root = newNode()
  for (const template of templates) {
    let node = root
    for (const seg of template.slice(1).split('/')) {
      if (seg === ':id') node = node.param ??= newNode()
      else {
        let next = node.literal.get(seg)
        if (!next) node.literal.set(seg, (next = newNode()))
        node = next
      }
    }
    node.template = template
  }
  return root
}

const ROOT = buildTrie(TEMPLATES)

/**
 * The template for an API path relative to `/api/3` (e.g. `/stacks/abc/servers.json` →
 * `/stacks/:id/servers`). Literal segments win over parameters, with backtracking.
 */
export function routeTemplate(apiPath: string): string {
  let template = recent.get(apiPath)
  if (template === undefined) {
    // Clients poll the same few paths; a full map is dropped rather than kept in LRU order.
    if (recent.size >= RECENT_MAX) recent.clear()
    recent.set(apiPath, (template = templateOf(apiPath)))
  }
  return template
}

/** Paths seen lately and their templates: the trie walk was ~1.5 µs of each request (CPU profile). */
const recent = new Map<string, string>()
const RECENT_MAX = 1_000

function templateOf(apiPath: string): string {
  let path = apiPath
  if (path.endsWith('.json')) path = path.slice(0, -5)
  const segments = path.split('/')
  return match(ROOT, segments, 1) ?? 'other'
}

function match(node: Node, segments: readonly string[], i: number): string | undefined {
  if (i === segments.length) return node.template
  const seg = segments[i] ?? ''
  const lit = node.literal.get(seg)
  if (lit) {
    const found = match(lit, segments, i + 1)
    if (found) return found
  }
  return node.param && seg !== '' ? match(node.param, segments, i + 1) : undefined
}
