import type { Clock } from '../../src/clock.js'

/** A clock the test moves by hand, so expiry is decided by the test, not by waiting. */
export class FakeClock implements Clock {
  #now: number

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(ms: number): void {
    this.#now += ms
  }
}
