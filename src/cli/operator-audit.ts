import { hostname, userInfo } from 'node:os'
import { auditKeysFromEnv } from '../audit/audit-key.js'
import { AuditLog } from '../audit/audit-log.js'
import type { AuditEntry } from '../audit/record.js'
import { systemClock } from '../clock.js'

/** What an operator's command records: the event and its object; who acted is filled in. */
export type OperatorAction = Omit<AuditEntry, 'member' | 'client'>

export interface OperatorAudit {
  write(action: OperatorAction): void
  close(): Promise<void>
}

/** `operator:<OS user>`: the acting party of a change made on the command line. */
export function operatorId(): string {
  let name = process.env['USER'] ?? 'unknown'
  try {
    name = userInfo().username
  } catch {
    // No passwd entry (some containers): the environment's USER is the best there is.
  }
  return `operator:${name}`
}

/**
 * The audit log of the operators' commands (members, keys, secret rotate): their changes are
 * recorded like the gateway's own, in the configured --audit-log, under a chain of their own
 * (`cli@<host>#<pid>`, so two commands running at once never share a chain head). Without a
 * gateway secret there is no audit key (and no gateway): nothing is written.
 */
export async function openOperatorAudit(config: {
  auditLog: string
  secretEnv: () => Readonly<Record<string, string | undefined>>
}): Promise<OperatorAudit | undefined> {
  const env = config.secretEnv()
  if (!env['C66_PROXY_SECRET']?.trim() && !env['C66_PROXY_SECRET_FILE']?.trim()) return undefined
  const log = await AuditLog.open({
    destination: config.auditLog,
    replica: `cli@${hostname()}#${process.pid}`,
    clock: systemClock,
    keys: auditKeysFromEnv(env),
    onError: (err) => process.stderr.write(`c66-proxy: warning: the audit log could not be written (${(err as NodeJS.ErrnoException).code ?? err.message})\n`),
  })
  const member = operatorId()
  return {
    write: (action) => log.write({ ...action, member }),
    close: () => log.close(),
  }
}
