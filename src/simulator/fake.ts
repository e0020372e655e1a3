// Building blocks for deterministic fake data: a seeded PRNG and a fixed clock origin.

/** All timestamps count from here, so nothing depends on the day the tests run. */
export const EPOCH = Date.UTC(2024, 0, 2, 9, 0, 0)
export const HOUR = 3_600_000

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function hoursAfterEpoch(hours: number): string {
  return iso(EPOCH + hours * HOUR)
}

/** A small seeded PRNG (mulberry32): deterministic, good enough for fake ids. */
export class Random {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(below: number): number {
    return Math.floor(this.next() * below)
  }

  hex(length: number): string {
    let out = ''
    while (out.length < length) out += this.int(16).toString(16)
    return out
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }
}
