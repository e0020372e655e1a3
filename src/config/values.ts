import type { Setting } from './settings.js'
import type { ListenAddress } from './types.js'

/**
 * The settings' values after conversion, read back by kind with a check instead of a cast: a
 * value of the wrong type, or a required one with no value, is a bug in this program (a setting
 * missing from config/default.json), reported as such, never passed on as if it were right.
 */
export class SettingValues {
  readonly #values: ReadonlyMap<string, unknown>
  readonly #settings: ReadonlyMap<string, Setting>

  constructor(values: ReadonlyMap<string, unknown>, settings: readonly Setting[]) {
    this.#values = values
    this.#settings = new Map(settings.map((s) => [s.key, s]))
  }

  /** True when the setting was given somewhere (flag, environment, file or default). */
  has(key: string): boolean {
    return this.#values.has(key)
  }

  text(key: string): string {
    return this.#required(key, 'text', (v): v is string => typeof v === 'string')
  }

  optionalText(key: string): string | undefined {
    return this.#optional(key, (v): v is string => typeof v === 'string')
  }

  /** A positive integer, or a duration in milliseconds. */
  number(key: string): number {
    return this.#required(key, 'number', (v): v is number => typeof v === 'number')
  }

  optionalNumber(key: string): number | undefined {
    return this.#optional(key, (v): v is number => typeof v === 'number')
  }

  flag(key: string): boolean {
    return this.#required(key, 'boolean', (v): v is boolean => typeof v === 'boolean')
  }

  list(key: string): readonly string[] {
    return this.#required(key, 'list', (v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string'))
  }

  choice<T extends string>(key: string, choices: readonly T[]): T {
    return this.#required(key, `one of ${choices.join(', ')}`, (v): v is T => typeof v === 'string' && (choices as readonly string[]).includes(v))
  }

  listen(key: string): ListenAddress {
    return this.#required(key, 'HOST:PORT', isListen)
  }

  url(key: string): URL {
    return this.#required(key, 'URL', (v): v is URL => v instanceof URL)
  }

  optionalUrl(key: string): URL | undefined {
    return this.#optional(key, (v): v is URL => v instanceof URL)
  }

  #required<T>(key: string, what: string, is: (v: unknown) => v is T): T {
    const setting = this.#settings.get(key)
    if (!setting) throw new Error(`unknown setting ${key}`)
    const value = this.#values.get(key)
    if (value === undefined) throw new Error(`setting ${key} has no value: config/default.json must give it one`)
    if (!is(value)) throw new Error(`setting ${key} is not a ${what}`)
    return value
  }

  #optional<T>(key: string, is: (v: unknown) => v is T): T | undefined {
    if (!this.#settings.has(key)) throw new Error(`unknown setting ${key}`)
    const value = this.#values.get(key)
    if (value === undefined) return undefined
    if (!is(value)) throw new Error(`setting ${key} has a value of the wrong type`)
    return value
  }
}

const isListen = (v: unknown): v is ListenAddress =>
  typeof v === 'object' &&
  v !== null &&
  'host' in v &&
  typeof v.host === 'string' &&
  'port' in v &&
  typeof v.port === 'number' &&
  (!('socket' in v) || v.socket === undefined || typeof v.socket === 'string')
