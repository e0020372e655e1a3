import { whenJson } from '../time-format.js'
import type { KeyRecord, Member } from './types.js'

// The JSON shapes of members and keys, one for the /-/api answers and the members/keys commands'
// --json output alike.

/** A key: everything but its hash. */
export function keyJson(k: KeyRecord) {
  return {
    id: k.id,
    member: k.memberId,
    label: k.label,
    created_at: whenJson(k.createdAt),
    last_used_at: whenJson(k.lastUsedAt),
    expires_at: whenJson(k.expiresAt),
    revoked_at: whenJson(k.revokedAt),
    read_only: k.policy.readOnly,
    methods: k.policy.methods ?? null,
    allow_paths: k.policy.allowPaths ?? null,
    deny_paths: k.policy.denyPaths ?? null,
    stack_ids: k.policy.stackIds ?? null,
  }
}

/** A member, without any token. */
export function memberJson(m: Member) {
  return { id: m.id, kind: m.kind, created_at: whenJson(m.createdAt), last_login_at: whenJson(m.lastLoginAt) }
}
