import type { Clock } from '../clock.js'

/**
 * Cloud 66's hourly request budget, kept per Cloud 66 identity (local mode: its one user; the
 * gateway: each member, whose own token is used): "a maximum of 3,000 requests per user per
 * hour", and the requests past it get `503 throttled`, to be retried "in the next hourly
 * interval".
 *
 * How the window is aligned: the docs' "hourly interval" is read as the clock hour, UTC, from
 * hh:00:00.000 to the next hh:00:00.000. That is a reading, not a fact, so nothing is held on it
 * alone:
 * - The configured budget (--upstream-budget, 3,000 by default as the docs' text says) is the
 *   operator's cap on what this proxy spends per hour, counted by the proxy itself.
 * - Cloud 66's own `X-RateLimit-Limit` / `X-RateLimit-Remaining` (its docs' examples show them,
 *   with 3,600 where the text says 3,000) are hints: shown, and `remaining 0` stops requests
 *   before the cap (other tools of the same user spend the same budget). They never lift the cap.
 * - After a real `503 throttled`, the identity is held until the window ends, but one request a
 *   minute still goes through as a probe: if Cloud 66 answers it normally (its window was aligned
 *   otherwise, or it forgave), the hold ends at once. A hold never outlasts the window.
 */

export const HOUR_MS = 3_600_000
/** During a hold, one request this often is let through to ask Cloud 66 again. */
export const PROBE_EVERY_MS = 60_000

export interface BudgetHint {
  readonly limit: number | undefined
  readonly remaining: number
  /** When Cloud 66 said so. */
  readonly at: number
}

/** What the proxy knows of one identity's budget in the current window. */
export interface BudgetView {
  readonly windowStart: number
  readonly windowEnd: number
  /** Requests this proxy sent to Cloud 66 for the identity in the window. */
  readonly used: number
  /** The configured budget per window; undefined: not limited locally (--upstream-budget off). */
  readonly budget: number | undefined
  /** Cloud 66's own word from its last answer in this window, when it gave one. */
  readonly hint: BudgetHint | undefined
  /** What is left: the lower of Cloud 66's remaining (when it said) and budget − used. */
  readonly remaining: number | undefined
  /** Set while requests are refused: why, and until when (the window's end). */
  readonly refusing: { readonly why: 'spent' | 'throttled'; readonly until: number } | undefined
}

/** A refusal: the identity's budget is spent; retry once the window ends. */
export interface BudgetRefusal {
  readonly why: 'spent' | 'throttled'
  readonly retryAfterSeconds: number
  readonly windowEnd: number
}

/** What the forwarder reports about one request: sent, then Cloud 66's answer. */
export interface BudgetMeter {
  sent(): void
  answered(status: number, rawHeaders: readonly string[]): void
  throttled(): void
}

interface Entry {
  windowStart: number
  used: number
  hint: BudgetHint | undefined
  /** Set by a real `503 throttled` in this window. */
  throttledAt: number | undefined
  nextProbeAt: number
}

/** The bound on identities kept: members are a bounded set, and local mode has one. */
const MAX_ENTRIES = 100_000

export class BudgetBook {
  readonly #entries = new Map<string, Entry>()
  readonly #meters = new Map<string, BudgetMeter>()

  constructor(
    private readonly clock: Clock,
    /** Requests per window before the proxy refuses locally; undefined counts without refusing. */
    readonly budget: number | undefined,
  ) {}

  /** A refusal when the identity's budget is spent (or Cloud 66 throttled it), else undefined. */
  check(id: string): BudgetRefusal | undefined {
    const now = this.clock.now()
    const e = this.#entries.get(id)
    if (e === undefined || e.windowStart !== windowOf(now)) return undefined
    const why = this.#refusing(e)
    if (why === undefined) return undefined
    // Probes ask Cloud 66 whether its window has moved on; the configured cap is the operator's
    // limit, and is not probed past.
    const cloud66Said = why === 'throttled' || (e.hint !== undefined && e.hint.remaining <= 0 && !this.#overCap(e))
    if (cloud66Said && now >= e.nextProbeAt) {
      // The probe: this request goes, and the answer decides (answered() ends the hold).
      e.nextProbeAt = now + PROBE_EVERY_MS
      return undefined
    }
    const windowEnd = e.windowStart + HOUR_MS
    return { why, retryAfterSeconds: Math.max(1, Math.ceil((windowEnd - now) / 1000)), windowEnd }
  }

  /** The meter of `id`: one per identity, kept, so a request allocates none. */
  meter(id: string): BudgetMeter {
    let m = this.#meters.get(id)
    if (m === undefined) {
      m = this.#newMeter(id)
      if (this.#meters.size >= MAX_ENTRIES) this.#meters.delete(this.#meters.keys().next().value as string)
      this.#meters.set(id, m)
    }
    return m
  }

  #newMeter(id: string): BudgetMeter {
    return {
      sent: () => {
        this.#entry(id).used += 1
      },
      answered: (status, rawHeaders) => this.#answered(id, status, rawHeaders),
      throttled: () => {
        const now = this.clock.now()
        const e = this.#entry(id)
        e.throttledAt = now
        e.nextProbeAt = now + PROBE_EVERY_MS
      },
    }
  }

  view(id: string): BudgetView {
    const now = this.clock.now()
    const e = this.#entries.get(id)
    const windowStart = windowOf(now)
    const current = e !== undefined && e.windowStart === windowStart ? e : undefined
    const used = current?.used ?? 0
    const hint = current?.hint
    const why = current === undefined ? undefined : this.#refusing(current)
    return {
      windowStart,
      windowEnd: windowStart + HOUR_MS,
      used,
      budget: this.budget,
      hint,
      remaining: remainingOf(hint, this.budget, used),
      refusing: why === undefined ? undefined : { why, until: windowStart + HOUR_MS },
    }
  }

  /** Every identity with a count in the current window. */
  ids(): string[] {
    const window = windowOf(this.clock.now())
    return [...this.#entries].filter(([, e]) => e.windowStart === window).map(([id]) => id)
  }

  #refusing(e: Entry): 'spent' | 'throttled' | undefined {
    if (e.throttledAt !== undefined) return 'throttled'
    return (e.hint !== undefined && e.hint.remaining <= 0) || this.#overCap(e) ? 'spent' : undefined
  }

  #overCap(e: Entry): boolean {
    return this.budget !== undefined && e.used >= this.budget
  }

  #answered(id: string, status: number, rawHeaders: readonly string[]): void {
    const e = this.#entry(id)
    let limit: number | undefined
    let remaining: number | undefined
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]
      if (name === undefined || (name.length !== 21 && name.length !== 17)) continue
      const lower = name.toLowerCase()
      if (lower === 'x-ratelimit-remaining') remaining = count(rawHeaders[i + 1])
      else if (lower === 'x-ratelimit-limit') limit = count(rawHeaders[i + 1])
    }
    if (remaining !== undefined) {
      const now = this.clock.now()
      // The first word that nothing is left starts the probe clock, as a throttle does.
      if (remaining <= 0 && (e.hint === undefined || e.hint.remaining > 0)) e.nextProbeAt = now + PROBE_EVERY_MS
      e.hint = { limit, remaining, at: now }
    }
    // Any answer but a 503 means Cloud 66 took the request: a hold (a probe's) is over.
    if (status !== 503) e.throttledAt = undefined
  }

  #entry(id: string): Entry {
    const window = windowOf(this.clock.now())
    let e = this.#entries.get(id)
    if (e === undefined || e.windowStart !== window) {
      e = { windowStart: window, used: 0, hint: undefined, throttledAt: undefined, nextProbeAt: 0 }
      this.#entries.delete(id)
      this.#entries.set(id, e)
      if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string)
    }
    return e
  }
}

/** The lower of what Cloud 66 says is left and what the cap leaves; undefined when neither is known. */
function remainingOf(hint: BudgetHint | undefined, budget: number | undefined, used: number): number | undefined {
  const byCap = budget === undefined ? undefined : Math.max(0, budget - used)
  const byHint = hint === undefined ? undefined : Math.max(0, hint.remaining)
  if (byCap === undefined) return byHint
  return byHint === undefined ? byCap : Math.min(byCap, byHint)
}

/** The start of the clock hour (UTC) that holds `now`. */
export function windowOf(now: number): number {
  return now - (now % HOUR_MS)
}

/** A header's non-negative integer, or undefined (a hint that is not a number is no hint). */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,9}\s*$/.test(value)) return undefined
  return Number(value)
}
