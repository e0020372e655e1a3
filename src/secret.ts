import { createHash } from 'node:crypto'
import { inspect } from 'node:util'

/**
 * Holds a credential so that it cannot reach a log line or a JSON body by accident:
 * string conversion, JSON and util.inspect all show only a short fingerprint.
 */
export class Secret {
  readonly #value: string
  readonly fingerprint: string

  constructor(value: string) {
    this.#value = value
    this.fingerprint = fingerprintOf(value)
  }

  /** The raw value, for the one place that must send it (the Authorization header). */
  reveal(): string {
    return this.#value
  }

  equals(other: Secret | undefined): boolean {
    return other !== undefined && other.#value === this.#value
  }

  toString(): string {
    return `[secret ${this.fingerprint}]`
  }

  toJSON(): string {
    return this.toString()
  }

  [inspect.custom](): string {
    return this.toString()
  }
}

/** `sha256:` and the first 12 hex digits: enough to tell tokens apart, useless to an attacker. */
export function fingerprintOf(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`
}
