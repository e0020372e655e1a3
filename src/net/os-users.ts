import { execFileSync } from 'node:child_process'

/** A user name as useradd accepts it (and a trailing $ for machine accounts). */
const NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i

/**
 * The uid of an OS user given by name or number, through the system's own user database (`id -u`
 * asks NSS, so LDAP and sssd users resolve as they do for login); undefined when there is no such
 * user. Run once at start-up for each --allow-users entry, never per request.
 */
export function uidOf(user: string): number | undefined {
  if (/^\d{1,10}$/.test(user)) {
    const n = Number(user)
    return n <= 0xfffffffe ? n : undefined
  }
  if (!NAME.test(user)) return undefined
  try {
    const out = execFileSync('id', ['-u', '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 })
    const n = Number(out.trim())
    return Number.isInteger(n) && n >= 0 ? n : undefined
  } catch {
    return undefined
  }
}
