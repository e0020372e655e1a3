import type { AuditLog } from '../audit/audit-log.js'
import type { AuditEntry } from '../audit/record.js'
import type { CallerInfo } from './types.js'
import { stackIdOf } from './key-policy.js'

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** One request that went through the gateway, as far as the audit log is concerned. */
export interface AuditedRequest {
  readonly caller: CallerInfo | undefined
  readonly client: string | undefined
  readonly method: string
  /** The request's path (the stack id is read from it), never written itself. */
  readonly path: string
  readonly route: string
  readonly status: number
  readonly durationMs: number
  readonly requestId: string
}

/** A change made through the gateway's pages or API: who did it, what, to what. */
export type AuditedAction = Omit<AuditEntry, 'client' | 'method' | 'route' | 'request_id'>

/**
 * What the gateway writes to its audit log: every mutating request (every request with
 * `--audit-all`) that identified a caller, and every login, log-out and member or key change.
 */
export function auditTrail(audit: AuditLog, auditAll: boolean) {
  return {
    request(r: AuditedRequest): void {
      const caller = r.caller
      if (!caller || !(auditAll || MUTATING.has(r.method))) return
      const stackId = r.route.startsWith('/stacks/:id') ? stackIdOf(r.path.startsWith('/api/3/') ? r.path.slice(6) : r.path) : undefined
      audit.write({
        event: 'request',
        member: caller.id,
        ...(r.client !== undefined ? { client: r.client } : {}),
        ...(caller.keyLabel !== undefined ? { key_label: caller.keyLabel } : {}),
        ...(caller.keyId !== undefined ? { key_id: caller.keyId } : {}),
        method: r.method,
        route: r.route,
        ...(stackId !== undefined ? { stack_id: stackId } : {}),
        status: r.status,
        duration_ms: r.durationMs,
        request_id: r.requestId,
      })
    },
    action(action: AuditedAction, on: { client: string | undefined; method: string; route: string; requestId: string }): void {
      audit.write({ ...action, ...(on.client === undefined ? {} : { client: on.client }), method: on.method, route: on.route, request_id: on.requestId })
    },
  }
}
