// Deterministic fake account data: the same seed gives the same uids, names and dates in every
// run, so tests and demo transcripts are stable. 15 apps × 3 environments = 45 stacks, which
// makes GET /stacks two pages long.
import type { ActionRecord } from './actions.js'
import type { AccountJson, BackupFileJson, BackupJson, DeploymentJson, EnvVarJson, ServerJson, ServiceJson, StackJson, UserJson } from './model.js'
import { hoursAfterEpoch, Random } from './fake.js'
import { seedStack } from './seed-stack.js'

export interface StackEntry {
  readonly stack: StackJson
  readonly servers: ServerJson[]
  readonly services: ServiceJson[]
  /** Newest first, as the API lists them. */
  readonly deployments: DeploymentJson[]
  readonly envVars: EnvVarJson[]
  readonly backups: { readonly json: BackupJson; readonly files: BackupFileJson[] }[]
  /** Newest first. */
  readonly actions: ActionRecord[]
}

export type IdKind = 'action' | 'deployment' | 'envVar' | 'backup'

export interface Dataset {
  readonly accounts: AccountJson[]
  readonly users: UserJson[]
  readonly stacks: StackEntry[]
  stack(uid: string): StackEntry | undefined
  /** Adds a stack (POST /stacks) to the end of the list. */
  addStack(entry: StackEntry): void
  /** Allocates the next id of a kind; safe to pass around detached. */
  readonly nextId: (kind: IdKind) => number
}

export const APPS = [
  'storefront',
  'billing-api',
  'inventory',
  'search',
  'notifications',
  'admin-portal',
  'payments',
  'analytics',
  'mobile-backend',
  'auth-service',
  'media-worker',
  'reporting',
  'checkout',
  'catalog',
  'webhooks',
] as const
export const ENVIRONMENTS = ['production', 'staging', 'development'] as const

export function createDataset(): Dataset {
  const random = new Random(0xc66)
  const counters: Record<IdKind, number> = { action: 5000, deployment: 1000, envVar: 20_000, backup: 300 }
  const nextId = (kind: IdKind): number => ++counters[kind]
  const users = seedUsers()
  const stacks: StackEntry[] = []
  const byUid = new Map<string, StackEntry>()

  let index = 0
  for (const app of APPS) {
    for (const environment of ENVIRONMENTS) {
      const entry = seedStack({ app, environment, index: index++, random, nextId, user: users[0]!.email })
      stacks.push(entry)
      byUid.set(entry.stack.uid, entry)
    }
  }

  return {
    accounts: seedAccounts(stacks.length),
    users,
    stacks,
    stack: (uid) => byUid.get(uid),
    addStack(entry) {
      stacks.push(entry)
      byUid.set(entry.stack.uid, entry)
    },
    nextId,
  }
}

function seedUsers(): UserJson[] {
  const people = [
    ['ops@acme.example', 'owner', true],
    ['dev@acme.example', 'developer', false],
    ['ci-bot@acme.example', 'deployer', false],
  ] as const
  return people.map(([email, role, admin], i) => ({
    id: 101 + i,
    email,
    primary_account_id: 1,
    locked: false,
    access_profile: { account_role: role, can_create_stack: admin, can_admin_users: admin },
    uses_tfa: i === 0,
    timezone: 'UTC',
    has_valid_phone: i === 0,
    developer_program: i === 0,
    github_login: i !== 2,
    last_login: hoursAfterEpoch(24 * 30 + i),
    devices: [],
    created_at: hoursAfterEpoch(-24 * 400 + i * 24),
    updated_at: hoursAfterEpoch(24 * 30 + i),
  }))
}

function seedAccounts(stackCount: number): AccountJson[] {
  const account = (id: number, name: string, stacks: number, current: boolean): AccountJson => ({
    id,
    owner: 'ops@acme.example',
    friendly_name: name,
    stack_count: stacks,
    used_clouds: stacks > 0 ? ['aws', 'digitalocean', 'gce', 'linode', 'hetzner'] : [],
    created_at: hoursAfterEpoch(-24 * 400 + id),
    updated_at: hoursAfterEpoch(24 * 30 + id),
    current_account: current,
    server_registration_script: `https://app.cloud66.com/${id}/a1b2c3d4e5f6/server.sh`,
    unmanaged_servers: stacks > 0 ? [{ vendor: 'aws', id: 'i-0c66f00dcafe0001' }] : [],
  })
  return [account(1, 'Acme Inc', stackCount, true), account(2, 'Acme Labs', 0, false)]
}
