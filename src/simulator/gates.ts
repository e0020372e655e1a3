// Named gates for tests that need an upstream answer to wait for them, not for a timer: a
// request to /gate/<name> sends its head at once and finishes only when the test opens the gate.
// Tests that depend on "the answer is still on its way" then hold however slow the machine is.

export class Gates {
  readonly #open = new Set<string>()
  readonly #waiting = new Map<string, Array<() => void>>()

  /** Resolves when `name` is open (at once if it already is). */
  pass(name: string): Promise<void> {
    if (this.#open.has(name)) return Promise.resolve()
    return new Promise((resolve) => {
      const list = this.#waiting.get(name) ?? []
      list.push(resolve)
      this.#waiting.set(name, list)
    })
  }

  /** How many requests wait at `name` now. */
  waiting(name: string): number {
    return this.#waiting.get(name)?.length ?? 0
  }

  /** Lets every request waiting at `name`, and every later one, finish. */
  open(name: string): void {
    this.#open.add(name)
    const list = this.#waiting.get(name) ?? []
    this.#waiting.delete(name)
    for (const resolve of list) resolve()
  }
}
