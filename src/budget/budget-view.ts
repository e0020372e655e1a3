import type { BudgetView } from './budget-book.js'

/** The budget as JSON (status --json, /-/budget, the gateway's API, members list --json): one shape everywhere. */
export interface BudgetJson {
  readonly window_start: string
  readonly window_end: string
  /** Requests sent to Cloud 66 in the window (by every replica that reported, on a gateway). */
  readonly used: number
  /** --upstream-budget; null when off. */
  readonly budget: number | null
  /** The lower of Cloud 66's remaining and budget − used; null when neither is known. */
  readonly remaining: number | null
  /** Cloud 66's own X-RateLimit-* from its last answer in the window; null when it sent none. */
  readonly cloud66: { readonly limit: number | null; readonly remaining: number; readonly at: string } | null
  /** Set while the proxy answers 429 budget_exhausted instead of sending. */
  readonly refusing: { readonly why: 'spent' | 'throttled'; readonly until: string } | null
}

const iso = (ms: number) => new Date(ms).toISOString()

export function budgetJson(v: BudgetView): BudgetJson {
  return {
    window_start: iso(v.windowStart),
    window_end: iso(v.windowEnd),
    used: v.used,
    budget: v.budget ?? null,
    remaining: v.remaining ?? null,
    cloud66: v.hint === undefined ? null : { limit: v.hint.limit ?? null, remaining: v.hint.remaining, at: iso(v.hint.at) },
    refusing: v.refusing === undefined ? null : { why: v.refusing.why, until: iso(v.refusing.until) },
  }
}

/** One line for people: `12 of 3000 used this hour (until 11:00 UTC), 2988 left`. */
export function budgetText(v: BudgetView): string {
  const until = iso(v.windowEnd).slice(11, 16)
  const of = v.budget === undefined ? '' : ` of ${v.budget}`
  const left = v.remaining === undefined ? '' : `, ${v.remaining} left`
  const said = v.hint === undefined ? '' : ` (Cloud 66 says ${v.hint.remaining}${v.hint.limit === undefined ? '' : ` of ${v.hint.limit}`} left)`
  const refusing =
    v.refusing === undefined
      ? ''
      : `; requests are refused until ${until} UTC (${v.refusing.why === 'throttled' ? 'Cloud 66 answered 503 throttled' : 'budget spent'})`
  return `${v.used}${of} used this hour (until ${until} UTC)${left}${said}${refusing}`
}
