/**
 * Member ids: `cloud66:<resource_owner_id>` for people who logged in with Cloud 66,
 * `sso:<e-mail>` for people named by a single-sign-on proxy's identity header, and
 * `service:<name>` for bots. Each source has its own namespace, so no header value and no bot
 * name can ever equal a Cloud 66 member's id.
 */

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/

/** `sso:<e-mail>`, lower-cased, for an identity header's value; undefined when it is not an e-mail address. */
export function ssoMemberId(value: string): string | undefined {
  return value.length <= 254 && EMAIL.test(value) ? `sso:${value.toLowerCase()}` : undefined
}

/**
 * A member named by an operator (`--admins`, the CLI): a full id (`cloud66:42`, `sso:a@b.example`)
 * as it is, a bare e-mail address as the SSO member it names, anything else as a bot.
 */
export function memberIdOf(name: string): string {
  if (name.includes(':')) return name
  return ssoMemberId(name) ?? `service:${name}`
}
