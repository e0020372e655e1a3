import { z } from 'zod'
import type { Clock } from '../clock.js'
import { parseDuration } from '../config/duration.js'
import { ProxyError } from '../errors.js'
import { compileRule, type RuleLimits } from '../rules/path-rules.js'
import type { NewKeyOptions } from './directory.js'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

const rules = z.array(z.string().min(1).max(300)).max(50)
/**
 * Members write these rules, and every request of their key is matched against them: bounded
 * so that no key can make matching costly (the matcher is linear, these keep it small too).
 */
export const MEMBER_RULE_LIMITS: RuleLimits = { maxLength: 300, maxSegments: 32, maxDoubleStars: 4 }
/** The body of POST /-/api/keys (and the options of `keys create`). */
export const keyRequestSchema = z.strictObject({
  label: z.string().trim().min(1).max(100).default('key'),
  /** A duration from now (`30d`, `12h`) or an ISO time. */
  expires: z.string().min(1).max(40).optional(),
  read_only: z.boolean().default(false),
  methods: z.array(z.enum(METHODS)).min(1).optional(),
  allow_paths: rules.optional(),
  deny_paths: rules.optional(),
  stack_ids: z.array(z.string().min(1).max(100)).min(1).max(200).optional(),
})

export type KeyRequest = z.input<typeof keyRequestSchema>

/** Validates a key request into the directory's options; every problem becomes one 400. */
export function keyOptions(input: unknown, clock: Clock): NewKeyOptions {
  const parsed = keyRequestSchema.safeParse(input)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    throw new ProxyError('bad_request', 400, `Invalid key request: ${first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid'}`)
  }
  const r = parsed.data
  for (const rule of [...(r.allow_paths ?? []), ...(r.deny_paths ?? [])]) {
    const compiled = compileRule(rule, MEMBER_RULE_LIMITS)
    if (typeof compiled === 'string') throw new ProxyError('bad_request', 400, `Invalid path rule ${compiled}`)
  }
  return {
    label: r.label,
    expiresAt: r.expires === undefined ? undefined : expiry(r.expires, clock),
    policy: {
      readOnly: r.read_only,
      methods: r.methods,
      allowPaths: r.allow_paths,
      denyPaths: r.deny_paths,
      stackIds: r.stack_ids,
    },
  }
}

function expiry(text: string, clock: Clock): number {
  const ms = parseDuration(text)
  if (ms !== undefined && ms > 0) return clock.now() + ms
  const at = Date.parse(text)
  if (Number.isFinite(at) && at > clock.now()) return at
  throw new ProxyError('bad_request', 400, 'Invalid key request: expires must be a duration (30d, 12h) or a future ISO time')
}
