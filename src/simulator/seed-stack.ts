// One seeded stack: the stack itself with its servers and services here, its history in
// seed-history.ts. Sizes vary by position so lists differ (some deployment lists run to two pages).
import type { IdKind, StackEntry } from './data.js'
import { EPOCH, HOUR, iso } from './fake.js'
import type { Random } from './fake.js'
import type { ServerJson, ServiceJson, StackJson } from './model.js'
import { backupsJson, deploymentsJson, envVarsJson, seededAction } from './seed-history.js'

export interface SeedInput {
  readonly app: string
  readonly environment: string
  readonly index: number
  readonly random: Random
  readonly nextId: (kind: IdKind) => number
  /** Email of the user who did the seeded deployments and actions. */
  readonly user: string
}

const PROFILES = [
  { language: 'ruby', framework: 'rails', backend: 'native', db: 'postgresql', port: 5432 },
  { language: 'node', framework: 'express', backend: 'docker', db: 'mysql', port: 3306 },
  { language: 'go', framework: 'gin', backend: 'docker', db: 'postgresql', port: 5432 },
  { language: 'python', framework: 'django', backend: 'docker', db: 'postgresql', port: 5432 },
  { language: 'docker', framework: 'docker', backend: 'kubernetes', db: 'mysql', port: 3306 },
] as const
const CLOUDS = [
  { cloud: 'AWS', region: 'us-east-1', zone: 'us-east-1a' },
  { cloud: 'DigitalOcean', region: 'ams3', zone: '' },
  { cloud: 'GCE', region: 'europe-west1', zone: 'europe-west1-b' },
  { cloud: 'Linode', region: 'eu-central', zone: '' },
  { cloud: 'Hetzner', region: 'fsn1', zone: 'fsn1-dc14' },
] as const
// Cloud 66 names servers after animals.
const ANIMALS = ['Lion', 'Tiger', 'Panda', 'Koala', 'Otter', 'Falcon', 'Bison', 'Lynx', 'Heron', 'Moose']
const LAYOUTS: Record<string, readonly ('web' | 'db')[]> = {
  production: ['web', 'web', 'db'],
  staging: ['web', 'db'],
  development: ['web'],
}
const BRANCHES: Record<string, string> = { production: 'main', staging: 'staging', development: 'develop' }

export function seedStack(input: SeedInput): StackEntry {
  const { app, environment, index, random } = input
  const createdAt = EPOCH + (index * 3 - 24 * 200) * HOUR
  const stack = stackJson(input, app, `git@github.com:acme/${app}.git`, BRANCHES[environment] ?? 'main', createdAt)
  const servers = (LAYOUTS[environment] ?? ['web']).map((role, n) => serverJson(input, stack, role, n))
  const profile = PROFILES[index % PROFILES.length]!
  const dbServer = servers.find((s) => s.server_type === profile.db)
  const database = `${app.replace(/-/g, '_')}_${environment}`
  const databaseUrl = `${profile.db}://app:${random.hex(20)}@${(dbServer ?? servers[0]!).address}:${profile.port}/${database}`
  // Ids grow with time: allocate the older action first, list the newer first.
  const redeploy = seededAction(input, stack, 'stack_redeploy', 30)
  const clearCaches = seededAction(input, stack, 'clear_caches', 12)
  return {
    stack,
    servers,
    services: servicesJson(random, stack, servers),
    deployments: deploymentsJson(input, stack),
    envVars: envVarsJson(input, stack, databaseUrl),
    backups: dbServer === undefined ? [] : backupsJson(input, stack, dbServer, profile.db, database),
    actions: [clearCaches, redeploy],
  }
}

/** A stack as POST /stacks creates it: no servers or history yet, status "queued". */
export function newStack(input: SeedInput, name: string, git: string, branch: string, now: number): StackEntry {
  const stack = stackJson(input, name, git, branch, now)
  stack.status = 0
  stack.health = 0
  return { stack, servers: [], services: [], deployments: [], envVars: [], backups: [], actions: [] }
}

function stackJson(input: SeedInput, name: string, git: string, branch: string, createdAt: number): StackJson {
  const { environment, index, random } = input
  const profile = PROFILES[index % PROFILES.length]!
  const uid = random.hex(32)
  const slug = `${name}-${environment}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-')
  const lastActivity = iso(createdAt + 24 * 190 * HOUR + (index % 7) * HOUR)
  return {
    uid,
    name,
    git,
    git_branch: branch,
    environment,
    cloud: CLOUDS[index % CLOUDS.length]!.cloud,
    fqdn: `${slug}-${random.hex(6)}.c66.me`,
    language: profile.language,
    framework: profile.framework,
    status: 1,
    health: 3,
    maintenance_mode: false,
    has_loadbalancer: environment === 'production',
    redeploy_hook: `http://hooks.cloud66.com/stacks/redeploy/${uid}/${random.hex(32)}`,
    last_activity: lastActivity,
    last_activity_iso: lastActivity,
    created_at: iso(createdAt),
    created_at_iso: iso(createdAt),
    updated_at: lastActivity,
    updated_at_iso: lastActivity,
    deploy_directory: `/var/deploy/${name.replace(/-/g, '_')}/web_head`,
    backend: profile.backend,
    version: `${1 + (index % 4)}.${index % 10}.0`,
    revision: random.hex(7),
    namespaces: [slug],
    account_id: 1,
    account_name: 'Acme Inc',
    is_cluster: false,
    is_inside_cluster: false,
    cluster_name: '',
    application_address: `https://${slug}.acme.example`,
    configstore_namespace: random.hex(16),
  }
}

function serverJson(input: SeedInput, stack: StackJson, role: 'web' | 'db', n: number): ServerJson {
  const { index, random } = input
  const profile = PROFILES[index % PROFILES.length]!
  const cloud = CLOUDS[index % CLOUDS.length]!
  const name = ANIMALS[(index + n) % ANIMALS.length]!
  const type = role === 'db' ? profile.db : profile.backend === 'native' ? profile.framework : 'docker'
  return {
    uid: random.hex(32),
    vendor_uid: cloud.cloud === 'AWS' ? `i-0${random.hex(16)}` : String(30_000_000 + random.int(60_000_000)),
    name,
    address: `10.${index}.0.${10 + n}`,
    ext_ipv4: `203.0.113.${index * 3 + n + 1}`,
    distro: 'ubuntu',
    distro_version: '22.04',
    dns_record: `${name.toLowerCase()}.${stack.fqdn}`,
    server_type: type,
    server_group_id: index * 10 + (role === 'db' ? 2 : 1),
    server_roles: role === 'db' ? [profile.db] : ['web', 'app'],
    stack_uid: stack.uid,
    has_agent: true,
    params: { size: role === 'db' ? 'large' : 'medium' },
    created_at: stack.created_at,
    updated_at: stack.updated_at,
    region: cloud.region,
    availability_zone: cloud.zone,
    health_state: 2,
    user_name: 'ubuntu',
    personal_key: false,
    is_kubernetes_master: false,
  }
}

function servicesJson(random: Random, stack: StackJson, servers: readonly ServerJson[]): ServiceJson[] {
  const webServers = servers.filter((s) => s.server_roles.includes('web'))
  const service = (name: string, command: string, on: readonly ServerJson[]): ServiceJson => ({
    name,
    containers: on.map((server, i) => ({
      uid: random.hex(64),
      name: `${name}.${server.name.toLowerCase()}.${i + 1}`,
      server_uid: server.uid,
      server_name: server.name,
      service_name: name,
      image: `registry.cloud66.com/acme/${stack.name}:${stack.revision}`,
      command,
      ports: name === 'web' ? [{ container: 3000, http: 80, https: 443 }] : [],
      private_ip: server.address,
      docker_ip: `172.17.0.${i + 2}`,
      health_state: 1,
      started_at: stack.updated_at,
      created_at: stack.updated_at,
      updated_at: stack.updated_at,
    })),
    source_type: 'git',
    git_ref: stack.git_branch,
    image_name: `acme/${stack.name}`,
    image_uid: random.hex(64),
    image_tag: stack.revision,
    command,
    build_command: '',
    deploy_command: name === 'web' ? 'bin/migrate' : '',
    wrap_command: '',
    desired_count: on.length,
  })
  return [service('web', 'bin/web', webServers), service('worker', 'bin/worker', webServers.slice(0, 1))]
}
