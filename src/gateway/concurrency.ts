/**
 * Fair shares of the upstream connection pool: each member may have at most `limit` requests
 * in flight to Cloud 66 at once, so one member's slow uploads (or a flood of them) can hold at
 * most that many pooled connections and every other member still finds free ones. Per replica,
 * like the pool itself.
 */
export class MemberSlots {
  readonly #limit: number
  readonly #inFlight = new Map<string, number>()

  constructor(limit: number) {
    this.#limit = limit
  }

  /** Takes a slot for `memberId`: a function that gives it back (once), or undefined when none is free. */
  take(memberId: string): (() => void) | undefined {
    const used = this.#inFlight.get(memberId) ?? 0
    if (used >= this.#limit) return undefined
    this.#inFlight.set(memberId, used + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const now = (this.#inFlight.get(memberId) ?? 1) - 1
      if (now <= 0) this.#inFlight.delete(memberId)
      else this.#inFlight.set(memberId, now)
    }
  }

  /** Requests `memberId` has in flight now. */
  inFlight(memberId: string): number {
    return this.#inFlight.get(memberId) ?? 0
  }
}
