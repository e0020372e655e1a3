// The history part of a seeded stack: deployments, environment variables, backups and actions.
// Ids come from the dataset's counters in creation order, so older items have smaller ids.
import type { ActionRecord } from './actions.js'
import type { StackEntry } from './data.js'
import { HOUR, hoursAfterEpoch, iso } from './fake.js'
import type { BackupFileJson, BackupJson, DeploymentJson, EnvVarJson, ServerJson, StackJson } from './model.js'
import type { SeedInput } from './seed-stack.js'

export function deploymentsJson(input: SeedInput, stack: StackJson): DeploymentJson[] {
  const { index, random, nextId, user } = input
  const count = 3 + ((index * 7) % 35)
  const repo = stack.git.replace(/^git@github\.com:/, 'https://github.com/').replace(/\.git$/, '')
  const deployments: DeploymentJson[] = []
  for (let k = count - 1; k >= 0; k--) {
    const hash = random.hex(40)
    const started = Date.parse(stack.last_activity) - k * 24 * HOUR
    deployments.push({
      id: nextId('deployment'),
      user,
      git_ref: stack.git_branch,
      git_hash: hash,
      branch_head: hash,
      commit_url: `${repo}/commit/${hash}`,
      triggered_by: random.pick(['api', 'ui', 'git_push', 'cx']),
      deployment_type: 'full',
      started_at: iso(started),
      finished_at: iso(started + 6 * 60_000),
      status: k % 9 === 4 ? 'failed' : 'success',
      is_head: k === 0,
    })
  }
  return deployments.reverse()
}

export function envVarsJson(input: SeedInput, stack: StackJson, databaseUrl: string): EnvVarJson[] {
  const { random, nextId } = input
  const vars: [string, string, boolean, boolean][] = [
    ['STACK_NAME', stack.name, true, false],
    ['APP_ENV', stack.environment, true, false],
    ['DATABASE_URL', databaseUrl, true, true],
    ['REDIS_URL', `redis://10.${input.index}.0.10:6379/0`, true, false],
    ['SECRET_KEY_BASE', random.hex(64), false, true],
    ['SENTRY_DSN', `https://${random.hex(32)}@o1.ingest.sentry.io/${1000 + input.index}`, false, true],
    ['LOG_LEVEL', stack.environment === 'production' ? 'info' : 'debug', false, false],
    ['WEB_CONCURRENCY', '2', false, false],
  ]
  return vars.map(([key, value, readonly, secret]) => ({
    id: nextId('envVar'),
    key,
    value,
    readonly,
    is_password: secret,
    created_at_iso: stack.created_at,
    updated_at_iso: stack.updated_at,
    history: [],
  }))
}

export function backupsJson(input: SeedInput, stack: StackJson, db: ServerJson, dbType: string, database: string): StackEntry['backups'] {
  const { index, nextId } = input
  return [3, 2, 1].map((daysAgo) => {
    const id = nextId('backup')
    const at = hoursAfterEpoch(index * 3 - daysAgo * 24)
    const fileBase = `${dbType}_${stack.name.replace(/-/g, '_')}_${at.slice(0, 10).replace(/-/g, '')}`
    const json: BackupJson = {
      id,
      server_uid: db.uid,
      file_name: `${fileBase}.tar.gz`,
      db_type: dbType,
      database_name: database,
      file_base: fileBase,
      backup_date_iso: at,
      backup_status: 0,
      backup_result: 'Backup completed',
      restore_status: 0,
      restore_result: '',
      created_at_iso: at,
      updated_at_iso: at,
      verify_status: 2,
      verify_result: 'Verified',
      storage_path: `backups/${stack.uid}/${id}`,
      skip_tables: '',
      logical_backup: true,
    }
    const files: BackupFileJson[] = ['001', '002'].map((part) => ({ id: part, name: `${fileBase}.tar.gz.${part}` }))
    return { json, files }
  })
}

export function seededAction(input: SeedInput, stack: StackJson, action: string, hoursAgo: number): ActionRecord {
  const started = Date.parse(stack.last_activity) - hoursAgo * HOUR
  return {
    json: {
      id: input.nextId('action'),
      user: input.user,
      resource_type: 'Stack',
      action,
      resource_id: stack.uid,
      started_via: 'ui',
      started_at: iso(started),
      finished_at: iso(started + 90_000),
      finished_success: true,
      finished_message: `${action} completed`,
      finished_result: 'ok',
      metadata: { user_reference: null },
    },
    finishesAt: started + 90_000,
  }
}
