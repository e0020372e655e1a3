import type { Clock } from '../../src/clock.js'
import type { DeadlineTimer } from '../../src/proxy/forward/deadlines.js'

/** 2026-01-01T00:00:00.000Z: a whole second, so `created_at` (seconds) converts back to exactly `now()`. */
export const FAKE_CLOCK_START = Date.UTC(2026, 0, 1)

export interface FakeClockOptions {
  /** The first reading; default FAKE_CLOCK_START. */
  readonly start?: number
  /** How far each reading moves the clock on (the audit log's "one second per record"); default 0. */
  readonly stepMs?: number
}

interface Repeating {
  readonly check: () => void
  readonly everyMs: number
  next: number
}

/**
 * The one clock tests move by hand, so that expiry, refresh skew, timestamps and timeouts are
 * decided by the test, never by waiting. It is a Clock (give the same one to the proxy and the
 * simulator) and a DeadlineTimer: `advance` runs every `every` check that falls due on the way,
 * in time order, with `now()` reading the check's own time.
 */
export class FakeClock implements Clock, DeadlineTimer {
  #now: number
  readonly #stepMs: number
  readonly #repeating = new Set<Repeating>()

  constructor(options: FakeClockOptions = {}) {
    this.#now = options.start ?? FAKE_CLOCK_START
    this.#stepMs = options.stepMs ?? 0
  }

  now(): number {
    const now = this.#now
    this.#now += this.#stepMs
    return now
  }

  /** Moves the clock on by `ms`, running the repeating checks that fall due on the way. */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      let due: Repeating | undefined
      for (const r of this.#repeating) if (r.next <= until && (due === undefined || r.next < due.next)) due = r
      if (due === undefined) break
      this.#now = due.next
      due.next += due.everyMs
      due.check()
    }
    this.#now = until
  }

  every(check: () => void, ms: number): () => void {
    const repeating: Repeating = { check, everyMs: ms, next: this.#now + ms }
    this.#repeating.add(repeating)
    return () => this.#repeating.delete(repeating)
  }

  /** The periods of the repeating checks still registered (stopped ones are gone). */
  get repeatingEveryMs(): number[] {
    return [...this.#repeating].map((r) => r.everyMs)
  }
}
