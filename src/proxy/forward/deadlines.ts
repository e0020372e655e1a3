/** Something with a deadline: the forwarder's requests waiting for response headers. */
export interface Expiring {
  /** The time (the timer's now()) after which the item has expired; written by Deadlines.arm(). */
  deadlineAt: number
}

/** How often deadlines are checked: a twentieth of the timeout, between 10 ms and 1 s. */
export function checkIntervalMs(timeoutMs: number): number {
  return Math.min(1_000, Math.max(10, Math.floor(timeoutMs / 20)))
}

/**
 * One timeout for many items, checked by a single interval timer instead of a setTimeout per
 * item (undici's "fast timers" make the same trade for its header and body timeouts). Node keeps
 * a timer list per duration and builds and tears it down whenever it goes from empty to one timer
 * and back, which is every request on a lone keep-alive connection: that setTimeout/clearTimeout
 * pair cost ~2 µs of latency per request there (`npm run bench`, one connection). Here arming and disarming are a Set
 * add and delete; the price is precision: an item expires up to checkIntervalMs() late.
 */
/** Where Deadlines reads the time and runs its check: the process's own, unless a test gives its own. */
export interface DeadlineTimer {
  now(): number
  /** Calls `check` every `ms`; returns how to stop. */
  every(check: () => void, ms: number): () => void
}

const processTimer: DeadlineTimer = {
  now: () => performance.now(),
  every(check, ms) {
    // unref: a pending deadline must not keep a process alive that has nothing else to do.
    const timer = setInterval(check, ms).unref()
    return () => clearInterval(timer)
  },
}

export class Deadlines<T extends Expiring> {
  readonly #items = new Set<T>()
  readonly #stop: () => void
  readonly #timer: DeadlineTimer

  constructor(
    readonly timeoutMs: number,
    private readonly onExpired: (item: T) => void,
    timer: DeadlineTimer = processTimer,
  ) {
    // Kept whole and called as timer.now(): a timer whose now() is a class method needs its `this`.
    this.#timer = timer
    this.#stop = timer.every(() => this.#check(), checkIntervalMs(timeoutMs))
  }

  /** Starts (or restarts) the item's timeout. */
  arm(item: T): void {
    item.deadlineAt = this.#timer.now() + this.timeoutMs
    this.#items.add(item)
  }

  disarm(item: T): void {
    this.#items.delete(item)
  }

  close(): void {
    this.#stop()
    this.#items.clear()
  }

  #check(): void {
    if (this.#items.size === 0) return
    const now = this.#timer.now()
    // Deleting the current entry while iterating a Set is safe.
    for (const item of this.#items) {
      if (item.deadlineAt > now) continue
      this.#items.delete(item)
      this.onExpired(item)
    }
  }
}
