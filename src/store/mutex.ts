/**
 * In-process mutual exclusion by name, with a bounded wait. The file store puts it in front of its
 * lock files (so one process never races itself for a file lock) and the memory store uses it alone.
 * Not re-entrant: `work` that asks for the lock it already holds waits until it times out.
 */

/** Thrown when the wait ran out; callers turn it into their own error (`store_locked`). */
export class MutexTimeout extends Error {
  override readonly name = 'MutexTimeout'
}

export class KeyedMutex {
  // The tail of each name's queue: the promise that settles when the last waiter releases.
  readonly #tails = new Map<string, Promise<void>>()

  /** Waits until `name` is free, then returns the function that frees it. */
  async acquire(name: string, timeoutMs: number): Promise<() => void> {
    const previous = this.#tails.get(name) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => (release = resolve))
    const tail = previous.then(() => mine)
    this.#tails.set(name, tail)
    const free = () => {
      release()
      if (this.#tails.get(name) === tail) this.#tails.delete(name)
    }
    if (!(await settlesWithin(previous, timeoutMs))) {
      // Keep the queue moving: our turn is passed on as soon as it comes.
      void previous.then(free)
      throw new MutexTimeout(`waited ${timeoutMs} ms for "${name}"`)
    }
    return free
  }

  async run<T>(name: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
    const free = await this.acquire(name, timeoutMs)
    try {
      return await work()
    } finally {
      free()
    }
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
