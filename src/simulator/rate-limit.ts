// Cloud 66 allows "3,000 requests per user per hour" and answers `503 throttled` beyond it, to be
// retried "in the next hourly interval" (so its API docs say). Modelled as a fixed window per token that
// opens with the token's first request, so a test with a small budget is deterministic.

export interface RateDecision {
  readonly allowed: boolean
  readonly limit: number
  /** Requests left in the current window after this one. */
  readonly remaining: number
}

interface Window {
  startedAt: number
  used: number
}

export class RateLimiter {
  readonly #windows = new Map<string, Window>()
  readonly #limit: number
  readonly #windowMs: number
  readonly #now: () => number

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#now = now
  }

  /** Counts one request by `token`; throttled requests do not use up budget. */
  take(token: string): RateDecision {
    const now = this.#now()
    let window = this.#windows.get(token)
    if (window === undefined || now - window.startedAt >= this.#windowMs) {
      window = { startedAt: now, used: 0 }
      this.#windows.set(token, window)
    }
    if (window.used >= this.#limit) return { allowed: false, limit: this.#limit, remaining: 0 }
    window.used += 1
    return { allowed: true, limit: this.#limit, remaining: this.#limit - window.used }
  }
}
